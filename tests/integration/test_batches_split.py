"""A split deployment batches every stage: parse workers hand batches to tag workers.

Real Celery workers on a private Redis and a SQLite store: one `--queues ingest,parse`,
one `--queues tag,index`. The documents are recorded first, as every intake does, then
published as batch messages (`workers.publish.send_batch`).
"""

from __future__ import annotations

import pytest

from tests.fixtures.cluster import (
    article,
    done_events,
    events,
    poison_env,
    sqlite_store,
    wait_final,
    wait_ready,
)
from tests.integration.test_batches import publish, record

pytestmark = pytest.mark.integration


def test_a_split_deployment_batches_every_stage_and_a_document_failing_at_tag_fails_alone(
    private_redis, data_dir, tmp_path, start_worker
) -> None:
    # Given a parse worker and a tag+index worker, and (test only) a document the tagger
    # refuses for good, recorded among 15 good ones
    switch = tmp_path / "tagfail-on"
    switch.touch()
    env = poison_env(
        data_dir,
        private_redis.url,
        switch,
        DOCFLOW_SWEEP_INTERVAL_S="0",
    )
    parser = start_worker(env, name="parser", queues="ingest,parse")
    tagger = start_worker(env, name="tagger", queues="tag,index")
    assert wait_ready(private_redis.url, "parser", "tagger", timeout=90), tagger.log()[-2000:]
    texts = [article(i, "split") for i in range(15)]
    texts.insert(5, article(99, "refused", "DOCFLOW-POISON-TAGFAIL"))
    ids, traces = record(data_dir, texts)
    refused = ids[5]
    # When the burst is published as two batch messages of 8
    publish(private_redis.url, ids[:8], traces)
    publish(private_redis.url, ids[8:], traces)
    # Then the refused document fails alone at tag and its 15 batch-mates are indexed
    store = sqlite_store(data_dir)
    final = wait_final(store, 16, timeout=120)
    logs = parser.log() + tagger.log()
    assert (final.get("indexed"), final.get("failed")) == (15, 1), logs[-4000:]
    doc = store.get_document(refused)
    assert "the test switch makes this tagging fail" in (doc.last_error or "")
    # and every stage ran in batches: parse on the parse worker, tag (one model call per
    # batch) and index inline on the tag worker, each run naming its batch and size
    for doc_id in ids:
        runs = {r.stage: r for r in store.stage_runs(doc_id)}
        parse, tag = runs["parse"], runs["tag"]
        assert parse.worker and parse.worker.startswith("parser@"), parse
        assert tag.worker and tag.worker.startswith("tagger@"), tag
        assert parse.batch_size == 8 and tag.batch_size == 8, (parse, tag)
        assert parse.batch_id != tag.batch_id and parse.attempts == tag.attempts == 1
        if doc_id != refused:
            assert runs["index"].batch_id == tag.batch_id  # indexed inline, in the tag batch
    tagged = [e for e in events(tagger.log()) if e.get("event") == "batch_tagged"]
    assert sorted(e["docs"] for e in tagged) == [8, 8]
    assert all(e["first_stage"] == "tag" for e in tagged)
    assert not [e for e in events(parser.log()) if e.get("event") == "batch_tagged"]
    # and every good document was indexed exactly once
    indexed = done_events([parser.log(), tagger.log()], "index")
    assert sorted(indexed) == sorted(d for d in ids if d != refused)
    assert set(indexed.values()) == {1}
    store.close()
