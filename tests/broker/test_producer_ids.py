"""InitProducerId and the producer id blocks behind it (AllocateProducerIds to the controller)."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio
import trio.testing

from odradek.broker.producer_ids import RETRY_BACKOFF_MS, ProducerIdManager
from odradek.controller.producer_ids import BLOCK_SIZE
from odradek.protocol.errors import ErrorCode, KafkaError
from odradek.protocol.messages.clients.allocate_producer_ids_response import (
    AllocateProducerIdsResponse,
)
from odradek.protocol.messages.clients.init_producer_id_request import InitProducerIdRequest
from tests.broker.fakes import Node, make_broker

INIT_PRODUCER_ID, ALLOCATE_PRODUCER_IDS = 22, 67


@pytest.fixture
def node(tmp_path: Path) -> Node:
    return make_broker(tmp_path)


def init(node: Node, version: int = 5, **fields: object) -> tuple[int, int, int]:
    request = InitProducerIdRequest(transactional_id=None, transaction_timeout_ms=60_000)
    for name, value in fields.items():
        setattr(request, name, value)
    response = node.call(INIT_PRODUCER_ID, version, request)
    return response.error_code, response.producer_id, response.producer_epoch


def test_idempotent_producers_get_ids_from_one_block(node: Node) -> None:
    assert [init(node, v) for v in (0, 2, 5)] == [(0, 0, 0), (0, 1, 0), (0, 2, 0)]
    assert node.controller.calls.count(ALLOCATE_PRODUCER_IDS) == 1
    # The grant is in the metadata log: no other broker will ever get these ids.
    assert node.broker.image.producer_ids.next_producer_id == BLOCK_SIZE


def test_a_used_up_block_is_followed_by_the_next(node: Node) -> None:
    manager = node.broker.producer_ids

    async def take(count: int) -> list[int]:
        return [await manager.next_producer_id() for _ in range(count)]

    ids = trio.run(take, BLOCK_SIZE + 2)
    assert ids == list(range(BLOCK_SIZE + 2))
    assert node.controller.calls.count(ALLOCATE_PRODUCER_IDS) == 2


def test_an_epoch_bump_without_transactional_id_gets_a_fresh_id(node: Node) -> None:
    # KIP-360: an idempotent producer bumps its epoch itself and only asks for a new
    # id when it must; whatever it sends, the answer is a new id at epoch 0.
    assert init(node) == (0, 0, 0)
    assert init(node, producer_id=0, producer_epoch=7) == (0, 1, 0)


@pytest.mark.parametrize(("producer_id", "producer_epoch"), [(5, -1), (-1, 3)])
def test_an_id_without_an_epoch_is_refused(
    node: Node, producer_id: int, producer_epoch: int
) -> None:
    assert init(node, 3, producer_id=producer_id, producer_epoch=producer_epoch) == (
        ErrorCode.INVALID_REQUEST,
        -1,
        -1,
    )
    assert ALLOCATE_PRODUCER_IDS not in node.controller.calls


@pytest.mark.parametrize(
    ("transactional_id", "timeout_ms", "code"),
    [
        ("", 60_000, ErrorCode.INVALID_REQUEST),
        ("tx", 0, ErrorCode.INVALID_TRANSACTION_TIMEOUT),
        ("tx", 15 * 60_000 + 1, ErrorCode.INVALID_TRANSACTION_TIMEOUT),
        ("tx", 60_000, ErrorCode.COORDINATOR_NOT_AVAILABLE),
    ],
)
def test_transactional_producers_find_no_coordinator_here(
    node: Node, transactional_id: str, timeout_ms: int, code: ErrorCode
) -> None:
    assert init(node, transactional_id=transactional_id, transaction_timeout_ms=timeout_ms) == (
        code,
        -1,
        -1,
    )
    assert ALLOCATE_PRODUCER_IDS not in node.controller.calls


def test_an_unreachable_controller_is_retried_after_a_backoff(node: Node) -> None:
    node.controller.unreachable = ErrorCode.REQUEST_TIMED_OUT
    assert init(node) == (ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, -1, -1)
    node.controller.unreachable = None
    # Within the backoff the controller is not asked again.
    assert init(node) == (ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, -1, -1)
    assert node.controller.calls.count(ALLOCATE_PRODUCER_IDS) == 1
    node.clock[0] += RETRY_BACKOFF_MS
    assert init(node) == (0, 0, 0)
    assert node.controller.calls.count(ALLOCATE_PRODUCER_IDS) == 2


def test_producers_arriving_during_a_fetch_wait_for_the_same_block(node: Node) -> None:
    node.controller.gate = trio.Event()
    answers: list[tuple[int, int]] = []

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            for _ in range(3):
                nursery.start_soon(one_producer)
            await trio.testing.wait_all_tasks_blocked()
            assert node.controller.calls == [ALLOCATE_PRODUCER_IDS]
            node.controller.gate.set()  # type: ignore[union-attr]

    async def one_producer() -> None:
        request = InitProducerIdRequest(transactional_id=None, transaction_timeout_ms=60_000)
        response = await node.request(INIT_PRODUCER_ID, 4, request)
        answers.append((response.error_code, response.producer_id))

    trio.run(main)
    assert sorted(answers) == [(0, 0), (0, 1), (0, 2)]
    assert node.controller.calls == [ALLOCATE_PRODUCER_IDS]


class Granting:
    """A controller channel that answers AllocateProducerIds with fixed responses."""

    def __init__(self, *responses: AllocateProducerIdsResponse) -> None:
        self.responses = list(responses)

    async def call(self, api_key: int, api_version: int, request: object) -> object:
        assert api_key == ALLOCATE_PRODUCER_IDS
        return self.responses.pop(0)


@pytest.mark.parametrize(
    "bad",
    [
        AllocateProducerIdsResponse(error_code=ErrorCode.STALE_BROKER_EPOCH),
        AllocateProducerIdsResponse(producer_id_start=-5, producer_id_len=10),
        AllocateProducerIdsResponse(producer_id_start=0, producer_id_len=0),
        AllocateProducerIdsResponse(producer_id_start=2**63 - 5, producer_id_len=10),
        # Overlaps the block already handed out.
        AllocateProducerIdsResponse(producer_id_start=5, producer_id_len=10),
    ],
)
def test_bad_grants_are_refused(bad: AllocateProducerIdsResponse) -> None:
    first = AllocateProducerIdsResponse(producer_id_start=0, producer_id_len=10)
    clock = [0]
    manager = ProducerIdManager(1, Granting(first, bad), lambda: 7, lambda: clock[0])

    async def main() -> None:
        assert [await manager.next_producer_id() for _ in range(10)] == list(range(10))
        with pytest.raises(KafkaError) as refused:
            await manager.next_producer_id()
        assert refused.value.code == ErrorCode.COORDINATOR_LOAD_IN_PROGRESS

    trio.run(main)
