-- SPDX-License-Identifier: BSD-3-Clause
-- The network domain: address pools and the prefixes they lent, the
-- dataplanes it drives and what each has applied, the service inventory
-- (TMF638), activation monitors (TMF640), and the saga's step ids.

-- An address pool: prefix cut into prefixes of length, minus exclude.
CREATE TABLE pools (
	name text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9._-]{1,63}$'),
	prefix cidr NOT NULL,
	length int NOT NULL CHECK (length BETWEEN 1 AND 128),
	exclude jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(exclude) = 'array'),
	created_at timestamptz NOT NULL DEFAULT now(),
	CHECK (length >= masklen(prefix))
);

-- A prefix lent to a service. The primary key is the rule "never the same
-- prefix to two services": a second insert of it fails, whatever the code.
CREATE TABLE assignments (
	prefix cidr PRIMARY KEY,
	pool text NOT NULL REFERENCES pools (name),
	idx bigint NOT NULL CHECK (idx >= 0),
	service_id uuid NOT NULL,
	assigned_at timestamptz NOT NULL DEFAULT now(),
	UNIQUE (pool, idx)
);
CREATE INDEX assignments_service ON assignments (service_id);

-- A dataplane: its agent, and what the domain knows it applied. epoch
-- grows at every full resync: an applied row of an older epoch does not
-- count (the resync replaced what it said).
CREATE TABLE dataplanes (
	name text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9._-]{1,63}$'),
	endpoint text NOT NULL CHECK (octet_length(endpoint) BETWEEN 6 AND 255),
	curve_dir text,
	access_port text NOT NULL DEFAULT 'cust0' CHECK (access_port ~ '^[A-Za-z0-9_]{1,15}$'),
	generation bigint NOT NULL DEFAULT 0,
	boot_id text NOT NULL DEFAULT '',
	epoch bigint NOT NULL DEFAULT 0,
	state text NOT NULL DEFAULT 'unknown' CHECK (state IN ('unknown', 'synced', 'unreachable')),
	circuit text NOT NULL DEFAULT 'closed' CHECK (circuit IN ('closed', 'open', 'half-open')),
	last_error text NOT NULL DEFAULT '',
	last_seen timestamptz,
	version bigint NOT NULL DEFAULT 0,
	created_at timestamptz NOT NULL DEFAULT now()
);

-- The service inventory. rev grows at every change the dataplanes must see.
CREATE SEQUENCE service_rev;
CREATE TABLE services (
	id uuid PRIMARY KEY,
	name text NOT NULL,
	state text NOT NULL CHECK (state IN ('feasibilityChecked', 'designed', 'reserved',
		'inactive', 'active', 'terminated')),
	customer_id text NOT NULL CHECK (octet_length(customer_id) BETWEEN 1 AND 200),
	order_id text,
	order_item_id text,
	offering_id text,
	profile jsonb NOT NULL CHECK (jsonb_typeof(profile) = 'object'),
	vlan int CHECK (vlan BETWEEN 1 AND 4094),
	mac text,
	pool text REFERENCES pools (name),
	prefixes jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(prefixes) = 'array'),
	availability text NOT NULL DEFAULT 'active'
		CHECK (availability IN ('active', 'suspended', 'walled-garden')),
	-- who suspended it: 'operator', 'customer' (its lifecycle), 'billing' (dunning)
	suspended_by text,
	rev bigint NOT NULL,
	-- the aggregate's version in the outbox: events so far
	version bigint NOT NULL DEFAULT 0,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	terminated_at timestamptz
);
CREATE INDEX services_customer ON services (customer_id);
CREATE INDEX services_state ON services (state);
-- Two live services never share a VLAN or a MAC (the dataplane refuses it too).
CREATE UNIQUE INDEX services_vlan ON services (vlan) WHERE state <> 'terminated';
CREATE UNIQUE INDEX services_mac ON services (lower(mac)) WHERE state <> 'terminated';

-- What each dataplane applied of each service (its rev), in which epoch;
-- error: the dataplane refused that rev (it is not retried until it changes).
CREATE TABLE applied (
	dataplane text NOT NULL REFERENCES dataplanes (name) ON DELETE CASCADE,
	service_id uuid NOT NULL REFERENCES services (id),
	epoch bigint NOT NULL,
	rev bigint NOT NULL,
	error text,
	PRIMARY KEY (dataplane, service_id)
);

-- TMF640 monitors of asynchronous activation requests.
CREATE TABLE monitors (
	id uuid PRIMARY KEY,
	service_id uuid NOT NULL REFERENCES services (id),
	request jsonb NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now()
);

-- The saga's step ids: a step seen again gets its first answer.
CREATE TABLE steps (
	step_id text PRIMARY KEY CHECK (octet_length(step_id) BETWEEN 1 AND 200),
	type text NOT NULL,
	service_id uuid,
	reply jsonb NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now()
);
