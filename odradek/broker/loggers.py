"""Log levels changed at run time: the BROKER_LOGGER config resource.

Kafka lets an operator read and change a broker's log4j levels without a restart
(``kafka-configs --entity-type broker-loggers``): DescribeConfigs on resource type
BROKER_LOGGER lists every logger with its level, and IncrementalAlterConfigs sets or
unsets levels. These changes are never written to the metadata log; they last until
the process restarts. Odradek does the same with Python's :mod:`logging`, speaking
log4j's level names (Kafka's ``Log4jController`` and ``RuntimeLoggerManager``):

* the resource name must be this broker's id (INVALID_REQUEST otherwise);
* SET takes one of ``TRACE``, ``DEBUG``, ``INFO``, ``WARN``, ``ERROR``, ``FATAL``,
  exactly so spelled (INVALID_CONFIG otherwise), and applies to the logger and every
  logger below it, as log4j's ``Configurator.setAllLevels`` does;
* DELETE unsets the level (the logger inherits again), except on ``root``
  (INVALID_REQUEST);
* the logger must exist, or have loggers below it (INVALID_CONFIG); APPEND and
  SUBTRACT are refused
  (INVALID_REQUEST);
* every operation is checked before any is applied; ``validate_only`` applies none.

Levels map to Python's: TRACE is 5 (below DEBUG), WARN is WARNING and FATAL is
CRITICAL; a logger is listed with its effective level.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Protocol

from odradek.protocol.errors import ErrorCode, KafkaError

ROOT_LOGGER = "root"
SET, DELETE, APPEND, SUBTRACT = 0, 1, 2, 3

#: log4j level name -> Python level.
LEVELS = {
    "TRACE": 5,
    "DEBUG": logging.DEBUG,
    "INFO": logging.INFO,
    "WARN": logging.WARNING,
    "ERROR": logging.ERROR,
    "FATAL": logging.CRITICAL,
}
_VALID = ", ".join(sorted(LEVELS))


class LoggerOperation(Protocol):
    """One entry of an IncrementalAlterConfigs resource: logger name, operation, level."""

    @property
    def name(self) -> str: ...
    @property
    def config_operation(self) -> int: ...
    @property
    def value(self) -> str | None: ...


def level_name(level: int) -> str:
    """The log4j name of a Python level: the most verbose log4j level it does not exceed."""
    name = "TRACE"
    for candidate, value in LEVELS.items():
        if level >= value:
            name = candidate
    return name


def _logger(name: str) -> logging.Logger:
    return logging.getLogger() if name == ROOT_LOGGER else logging.getLogger(name)


def loggers() -> dict[str, str]:
    """Every logger that exists, with its effective level; ``root`` included."""
    found = {
        name: level_name(logger.getEffectiveLevel())
        for name, logger in logging.Logger.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    found[ROOT_LOGGER] = level_name(logging.getLogger().level)
    return dict(sorted(found.items()))


def _exists(name: str) -> bool:
    # A placeholder is a name with loggers below it (``odradek.broker`` above
    # ``odradek.broker.replicas``): setting its level sets theirs, as in log4j.
    return name == ROOT_LOGGER or name in logging.Logger.manager.loggerDict


def check_node_id(resource_name: str, node_id: int) -> None:
    try:
        requested = int(resource_name)
    except ValueError:
        raise KafkaError(
            ErrorCode.INVALID_REQUEST, f"Node id must be an integer, but it is: {resource_name}"
        ) from None
    if requested != node_id:
        raise KafkaError(
            ErrorCode.INVALID_REQUEST,
            f"Unexpected node id. Expected {node_id}, but received {resource_name}",
        )


def _check(op: LoggerOperation) -> None:
    name = op.name
    if op.config_operation in (SET, DELETE) and not _exists(name):
        raise KafkaError(ErrorCode.INVALID_CONFIG, f"Logger {name} does not exist!")
    if op.config_operation == SET:
        if op.value not in LEVELS:
            raise KafkaError(
                ErrorCode.INVALID_CONFIG,
                f"Cannot set the log level of {name} to {op.value} as it is not a supported "
                f"log level. Valid log levels are {_VALID}",
            )
    elif op.config_operation == DELETE:
        if name == ROOT_LOGGER:
            raise KafkaError(
                ErrorCode.INVALID_REQUEST,
                f"Removing the log level of the {ROOT_LOGGER} logger is not allowed",
            )
    elif op.config_operation in (APPEND, SUBTRACT):
        operation = "APPEND" if op.config_operation == APPEND else "SUBTRACT"
        raise KafkaError(
            ErrorCode.INVALID_REQUEST,
            f"{operation} operation is not allowed for the BROKER_LOGGER resource",
        )
    else:
        raise KafkaError(
            ErrorCode.INVALID_REQUEST,
            f"Unknown operation type {op.config_operation} is not allowed for the "
            "BROKER_LOGGER resource",
        )


def _with_descendants(name: str) -> Iterable[logging.Logger]:
    yield _logger(name)
    prefix = "" if name == ROOT_LOGGER else name + "."
    for other, logger in list(logging.Logger.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger) and other.startswith(prefix):
            yield logger


def apply(
    resource_name: str, node_id: int, ops: Sequence[LoggerOperation], *, validate_only: bool
) -> None:
    """Check every operation, then (unless ``validate_only``) apply them in order."""
    check_node_id(resource_name, node_id)
    for op in ops:
        _check(op)
    if validate_only:
        return
    log = logging.getLogger(__name__)
    for op in ops:
        level = LEVELS[op.value] if op.config_operation == SET and op.value else logging.NOTSET
        for logger in _with_descendants(op.name):
            logger.setLevel(level)
        if level == logging.NOTSET:
            log.warning("Unset the log level of %s", op.name)
        else:
            log.warning("Updated the log level of %s to %s", op.name, op.value)
