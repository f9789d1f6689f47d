"""The `config` scanner (configuration hygiene), one module per file kind:

rules            the rule table (ids never change; docs/rules.md)
common           hits, skips, the confined text read, the weak-password check
dotenv           .env files: committed, not ignored, weak passwords
dockerfile       Dockerfiles and Containerfiles
compose          compose files
python_settings  Django and Flask settings
keys             private key files and keystores
scanner          `ConfigScanner` (registered as `config`)
"""

from secaudit.tools.scanners.config.rules import RULES, Rule
from secaudit.tools.scanners.config.scanner import ConfigScanner

__all__ = ["RULES", "ConfigScanner", "Rule"]
