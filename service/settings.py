"""What one `fp serve` instance serves and the limits it enforces."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SERVICE_DIR = "service"  # beside library.sqlite: the service's own SQLite, spool and evidence
DB_NAME = "service.sqlite"

GIB = 1024**3


@dataclass(frozen=True)
class ServiceSettings:
    library: Path
    roots: tuple[Path, ...] = ()  # folders a client may name files under (`path` fields); none: paths refused
    home: Path | None = None  # the service's folder (default: <library>/service)
    max_upload_bytes: int = 2 * GIB
    max_duration: float = 4 * 3600.0  # seconds of video a suspect may last
    repeat_after: int = 3  # confirmed copies that make a seller a repeat infringer
    evidence: bool = True  # draw evidence images for every match (a low-priority job after the match)
    max_attempts: int = 2  # a job running when the server died is retried this many times in all
    reshard_patience: float = 3600.0  # seconds a reference add is retried while the library is being re-sharded
    session_hours: float = 12.0  # review page login lifetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "library", Path(self.library))
        object.__setattr__(self, "roots", tuple(Path(r) for r in self.roots))

    @property
    def service_dir(self) -> Path:
        return Path(self.home) if self.home else self.library / SERVICE_DIR

    @property
    def db_path(self) -> Path:
        return self.service_dir / DB_NAME

    @property
    def spool_dir(self) -> Path:
        return self.service_dir / "spool"

    @property
    def evidence_dir(self) -> Path:
        return self.service_dir / "evidence"
