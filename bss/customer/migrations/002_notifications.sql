-- SPDX-License-Identifier: BSD-3-Clause
-- Notifications sent to a customer (an order's confirmation ...), on the
-- channel the customer's preferences and consents allow, or recorded as
-- suppressed when none does. One per saga step: a retry finds it.

CREATE TABLE notifications (
	id uuid PRIMARY KEY,
	step_id text NOT NULL UNIQUE CHECK (step_id ~ '^[A-Za-z0-9._:-]{1,100}$'),
	customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
	kind text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_.-]{0,49}$'),
	order_id uuid,
	state text NOT NULL CHECK (state IN ('sent', 'suppressed')),
	channel text CHECK (channel IN ('email', 'sms', 'phone', 'post')),
	reason text,
	-- The message's text (no personal data: the order's ids and offering names).
	text text NOT NULL CHECK (octet_length(text) BETWEEN 1 AND 1000),
	created_at timestamptz NOT NULL DEFAULT now(),
	CHECK ((state = 'sent') = (channel IS NOT NULL))
);
CREATE INDEX notifications_customer ON notifications (customer_id, created_at);
