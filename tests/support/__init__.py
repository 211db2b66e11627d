"""Test support: reference brokers and real Kafka clients, driven from Python.

Integration tests and benchmarks compare a broker under test with Apache Kafka itself
(`kafka_reference`) and with Tansu (`tansu`), and drive each of them with unmodified
clients (`clients`): confluent-kafka (librdkafka), kafka-python, aiokafka, kcat, kafkajs
and the Java kafka-clients. Everything they need beyond the Python packages is installed
by `tools/install-test-deps.sh` into a cache outside the checkout (`cache`); a test whose
runtime is missing skips with the reason and that command.

What a client must see of a broker is the protocol of
shared/kafka-spec/docs/protocol.html; nothing here depends on how a broker works inside.
"""
