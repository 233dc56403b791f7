-- SPDX-License-Identifier: BSD-3-Clause
-- The order domain: TMF622 product orders, their items, the saga that
-- drives each order (one row per order, one per step), and the services
-- customers hold through completed orders (what a modify or delete may name).

CREATE TABLE orders (
	id uuid PRIMARY KEY,
	customer_id uuid NOT NULL,
	state text NOT NULL CHECK (state IN ('acknowledged', 'inProgress', 'completed', 'failed',
		'partial', 'cancelled')),
	description text CHECK (octet_length(description) <= 1000),
	note jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(note) = 'array'),
	external_id text,
	requested_start_date text NOT NULL,
	related_party jsonb NOT NULL CHECK (jsonb_typeof(related_party) = 'array'),
	cancellation_reason text,
	cancel_requested boolean NOT NULL DEFAULT false,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	completed_at timestamptz,
	version bigint NOT NULL DEFAULT 1 CHECK (version >= 1)
);
CREATE INDEX orders_customer ON orders (customer_id, created_at);
CREATE INDEX orders_state ON orders (state);

CREATE TABLE order_items (
	order_id uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
	item_id text NOT NULL CHECK (item_id ~ '^[A-Za-z0-9._-]{1,32}$'),
	pos int NOT NULL,
	action text NOT NULL CHECK (action IN ('add', 'modify', 'delete')),
	offering_id uuid NOT NULL,
	offering_name text,
	previous_offering_id uuid,
	service_id text,
	quantity int NOT NULL DEFAULT 1 CHECK (quantity BETWEEN 1 AND 1000),
	inventory jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(inventory) = 'array'),
	access jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(access) = 'object'),
	characteristic jsonb NOT NULL DEFAULT '[]',
	state text NOT NULL CHECK (state IN ('acknowledged', 'inProgress', 'completed', 'failed',
		'cancelled')),
	PRIMARY KEY (order_id, item_id)
);

-- The saga of an order: running -> completed, or compensating -> compensated.
CREATE TABLE sagas (
	order_id uuid PRIMARY KEY REFERENCES orders (id) ON DELETE CASCADE,
	state text NOT NULL CHECK (state IN ('running', 'compensating', 'completed',
		'compensated')),
	outcome text CHECK (outcome IN ('failed', 'cancelled')),
	failure text,
	next_at timestamptz NOT NULL DEFAULT now(),
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sagas_due ON sagas (next_at) WHERE state IN ('running', 'compensating');

-- Its steps in order; each a command on the bus, with its compensation.
CREATE TABLE saga_steps (
	order_id uuid NOT NULL REFERENCES sagas (order_id) ON DELETE CASCADE,
	seq int NOT NULL CHECK (seq >= 1),
	domain text NOT NULL,
	command text NOT NULL,
	order_item_id text,
	timeout_ms int NOT NULL CHECK (timeout_ms > 0),
	state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'running', 'done',
		'failed')),
	-- failed on a timeout: it may have happened; compensation asks again
	uncertain boolean NOT NULL DEFAULT false,
	attempts int NOT NULL DEFAULT 0,
	last_error text,
	started_at timestamptz,
	finished_at timestamptz,
	result jsonb,
	comp_command text,
	comp_state text NOT NULL DEFAULT 'none' CHECK (comp_state IN ('none', 'pending',
		'running', 'done', 'failed')),
	comp_attempts int NOT NULL DEFAULT 0,
	comp_last_error text,
	comp_started_at timestamptz,
	comp_finished_at timestamptz,
	PRIMARY KEY (order_id, seq)
);

-- Services customers hold through completed orders.
CREATE TABLE services (
	service_id text PRIMARY KEY,
	customer_id uuid NOT NULL,
	offering_id uuid NOT NULL,
	order_id uuid NOT NULL,
	state text NOT NULL CHECK (state IN ('active', 'terminated')),
	updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX services_customer ON services (customer_id);
