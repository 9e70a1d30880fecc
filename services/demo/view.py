"""Alerts as they fire: tails the API's alert table, whichever bus produced them.

On a terminal, a live table of the newest alerts; otherwise (piped, CI) one line each.
Reading the store rather than hooking the intake shows exactly what the API serves.
"""

from __future__ import annotations

import threading
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services.api.i18n import wib
from services.api.store import AlertRecord
from shared.regions import province_name

SHOWN = 12


class AlertFeed:
    def __init__(
        self, sessions: sessionmaker[Session], console: Console, poll_s: float = 0.5
    ) -> None:
        self.sessions, self.console, self.poll_s = sessions, console, poll_s
        self.cursor = 0
        self.count = 0
        self.recent: list[dict[str, Any]] = []

    def fetch(self) -> list[dict[str, Any]]:
        """Alerts recorded since the last call, oldest first."""
        with self.sessions() as session:
            rows = session.execute(
                select(AlertRecord.seq, AlertRecord.body)
                .where(AlertRecord.seq > self.cursor)
                .order_by(AlertRecord.seq)
            ).all()
        if rows:
            self.cursor = rows[-1][0]
        self.count += len(rows)
        return [body for _, body in rows]

    def table(self) -> Table:
        table = Table(title=f"Alerts fired: {self.count}", title_justify="left", expand=True)
        for column in ("time (WIB)", "product", "category", "provinces", "chance"):
            table.add_column(column, no_wrap=column != "product")
        for alert in reversed(self.recent):
            table.add_row(
                wib(alert["tick_ms"], "en"),
                alert.get("product_name") or alert["product_id"],
                alert.get("category") or "",
                ", ".join(province_name(c) for c in (alert.get("regions") or [])[:2]),
                f"{round(100 * alert['probability'])}%",
            )
        return table

    def run(self, stop: threading.Event) -> None:
        if not self.console.is_terminal:
            while not stop.wait(self.poll_s):
                for alert in self.fetch():
                    self.console.print(
                        f"ALERT {alert['ts']}  {alert['message_en']}", soft_wrap=True
                    )
            return
        with Live(self.table(), console=self.console, auto_refresh=False) as live:
            while not stop.wait(self.poll_s):
                new = self.fetch()
                if new:
                    self.recent = (self.recent + new)[-SHOWN:]
                    live.update(self.table(), refresh=True)
