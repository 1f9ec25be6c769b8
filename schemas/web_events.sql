-- Target table of pipelines/web-events.yaml. Works on ClickHouse 18.16 and later.
CREATE TABLE IF NOT EXISTS web_events
(
    event_time      DateTime,
    user_id         UInt64,
    session_id      UUID,
    event_type      String,
    url             String,
    ip              String,
    user_agent      String,
    price           Decimal(12, 2),
    tags            Array(String),
    country         String,
    plan            String,
    kafka_partition UInt16,
    kafka_offset    UInt64
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(event_time)
ORDER BY (event_type, event_time, user_id)
