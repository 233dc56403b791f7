-- SPDX-License-Identifier: BSD-3-Clause
-- The billing domain's minimal plan receiver: a billing plan per order, as
-- the order saga sets it up (created pending, activated once the service is
-- active, cancelled as the saga's compensation). Invoicing comes later.

CREATE TABLE plans (
	id uuid PRIMARY KEY,
	-- The saga step that created it: a retry of the step finds it.
	create_step_id text NOT NULL UNIQUE CHECK (create_step_id ~ '^[A-Za-z0-9._:-]{1,100}$'),
	order_id uuid NOT NULL,
	customer_id uuid NOT NULL,
	state text NOT NULL CHECK (state IN ('pending', 'active', 'cancelled')),
	items jsonb NOT NULL CHECK (jsonb_typeof(items) = 'array'),
	start_date text NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	activated_at timestamptz,
	cancelled_at timestamptz,
	updated_at timestamptz NOT NULL DEFAULT now(),
	-- Optimistic concurrency; also the aggregate's version in the outbox.
	version bigint NOT NULL DEFAULT 1 CHECK (version >= 1),
	CHECK (state <> 'active' OR activated_at IS NOT NULL)
);
CREATE INDEX plans_order ON plans (order_id);
