"""The API's Kafka edge: consume `pantau.scores`, apply each batch to the store, then commit.

`IntakeStep` plugs the score intake into the shared consumer runtime (shared.runtime);
`ScoreConsumer` runs it on a background thread. Offsets move only after the store has
committed the batch; a batch delivered again changes nothing (idempotent upserts, the
alert engine skips ticks it has evaluated, alert ids derive from product and tick).
Broker trouble and a store that is briefly unreachable are retried from the last commit;
any other error stops the consumer, readiness turns false and `pantau api` exits
non-zero, for its supervisor to restart it.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy.exc import OperationalError

from services.api.intake import ScoreIntake
from shared import metrics
from shared.kafka import DecodedFrames, decode_frames, make_consumer, make_producer
from shared.logs import log_event
from shared.runtime import Batch, ConsumerRuntime, LoopSettings, Output
from shared.scores import SCORE_SCHEMA
from shared.settings import ApiSettings, KafkaSettings

log = logging.getLogger(__name__)


class IntakeStep:
    """Score batches into the store; undecodable messages to the DLQ."""

    def __init__(self, kafka: KafkaSettings, intake: ScoreIntake) -> None:
        self.kafka, self.intake = kafka, intake

    def start(self, partition: int) -> None:
        # Another replica may have decided alerts for this partition's products until now.
        self.intake.reload()
        return None  # the group's committed offset

    def prepare(self, partition: int, values: list[bytes]) -> DecodedFrames:
        return decode_frames(values, SCORE_SCHEMA)

    def process(self, batch: Batch[DecodedFrames], output: Output | None) -> None:
        assert output is not None
        for envelope in batch.prepared.dead_letters(
            self.kafka.scores_topic, batch.partition, batch.offsets
        ):
            output.send(self.kafka.dlq_topic, envelope, batch.partition)
            metrics.DLQ_MESSAGES.labels(reason="malformed_frame").inc()
        self.intake.apply(batch.prepared.frame)

    def idle(self, output: Output | None) -> None:
        """Nothing to do between polls."""

    def save(self, partitions: list[int], positions: dict[int, int]) -> None:
        """Nothing to save: each batch was committed to the store when it was applied."""

    def forget(self, partitions: list[int]) -> None:
        """No per-partition state."""


class ScoreConsumer:
    """Background thread running the intake step. `healthy` while it polls normally."""

    def __init__(self, kafka: KafkaSettings, api: ApiSettings, intake: ScoreIntake) -> None:
        self.kafka, self.api = kafka, api
        self.step = IntakeStep(kafka, intake)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="score-consumer", daemon=True)
        self.runtime: ConsumerRuntime[DecodedFrames] | None = None
        self.failed = False

    @property
    def healthy(self) -> bool:
        return self.runtime is not None and self.runtime.ready

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=15)

    def _run(self) -> None:
        loop = LoopSettings(
            group=self.api.group,
            topic=self.kafka.scores_topic,
            service="api",
            transient_errors=(OperationalError,),
        )
        try:
            self.runtime = ConsumerRuntime(
                loop,
                self.step,
                make_consumer(self.kafka, self.api.group),
                make_producer(self.kafka),
                self._stop,
            )
            self.runtime.run()
        except Exception:
            # Readiness is already false; `pantau api` watches `failed` and exits non-zero.
            self.failed = True
            log_event(log, "score consumer stopped", level=logging.ERROR, exc_info=True)
