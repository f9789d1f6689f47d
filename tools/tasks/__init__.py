"""Tasks: rows of the shared `tasks` table that the task operator and other services read."""

from secaudit.tools.tasks.models import Claim, Task, TaskPage, TaskStatus, parse_status
from secaudit.tools.tasks.service import MIGRATIONS, TaskService

__all__ = ["MIGRATIONS", "Claim", "Task", "TaskPage", "TaskService", "TaskStatus", "parse_status"]
