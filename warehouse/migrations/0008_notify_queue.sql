-- 0008_notify_queue: digest items queued by the flows of one district cycle
-- (SPEC §6 Notifications): each town gets one digest per cycle, sent by the
-- cycle's last step. Member IDs are stored masked.

CREATE TABLE IF NOT EXISTS audit.notification_queue (
    cycle_id   VARCHAR NOT NULL,
    seq        INTEGER NOT NULL,        -- order of queueing within the cycle
    tag        VARCHAR NOT NULL,        -- a town code or 'district'
    flow       VARCHAR NOT NULL,
    kind       VARCHAR NOT NULL,
    rule_id    VARCHAR NOT NULL,
    case_no    VARCHAR,
    message    VARCHAR NOT NULL,
    member     VARCHAR,                 -- masked
    n          INTEGER NOT NULL,
    queued_at  TIMESTAMPTZ NOT NULL,
    sent_at    TIMESTAMPTZ
);
