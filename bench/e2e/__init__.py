"""End-to-end produce and consume benchmark of Odradek against Apache Kafka and Tansu, in
the manner of Kafka's `kafka-producer-perf-test` and `kafka-consumer-perf-test`
(shared/kafka-spec/docs/ops.html shows them in use). See bench/e2e/README.md; run it with
`python3 -m bench.e2e` from the repository root.
"""
