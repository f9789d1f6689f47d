// Configuration read from the environment (deliberately insecure defaults).
import dotenv from 'dotenv';

dotenv.config();

// A guessable fallback: anyone can sign tokens when JWT_SECRET is unset.
export const JWT_SECRET = process.env.JWT_SECRET || 'changeme';

export const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
export const PORT = Number(process.env.PORT || 3000);
