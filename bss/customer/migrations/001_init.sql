-- SPDX-License-Identifier: BSD-3-Clause
-- The customer domain: parties (TMF632 Individual, Organization), customers
-- (TMF629), the lifecycle's history, consents, loyalty. Rules the C code
-- checks are repeated as constraints where SQL can say them, so that a bug
-- or a hand-written statement cannot store what the code would refuse.
-- Contact media, accounts and characteristics are JSON arrays in the exact
-- form the code validated (bss/customer/model.c).

CREATE TABLE parties (
	id uuid PRIMARY KEY,
	kind text NOT NULL CHECK (kind IN ('individual', 'organization')),
	status text NOT NULL CHECK (status IN ('initialized', 'validated', 'deceased', 'closed')),
	-- Individual
	given_name text,
	family_name text,
	middle_name text,
	title text,
	birth_date date,
	gender text,
	nationality text CHECK (nationality ~ '^[A-Z]{2}$'),
	-- Organization
	name text,
	trading_name text,
	organization_type text,
	is_legal_entity boolean,
	contact_medium jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(contact_medium) = 'array'),
	erased_at timestamptz,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	-- Optimistic concurrency; also the aggregate's version in the outbox.
	version bigint NOT NULL DEFAULT 1 CHECK (version >= 1),
	CHECK (kind <> 'individual' OR (given_name IS NOT NULL AND family_name IS NOT NULL)),
	CHECK (kind <> 'organization' OR name IS NOT NULL)
);

-- The reference billing keeps: C and 9 digits, never reused.
CREATE SEQUENCE customer_number;

CREATE TABLE customers (
	id uuid PRIMARY KEY,
	number text NOT NULL UNIQUE CHECK (number ~ '^C[0-9]{9}$')
		DEFAULT 'C' || lpad(nextval('customer_number')::text, 9, '0'),
	name text NOT NULL CHECK (name <> '' AND octet_length(name) <= 200),
	status text NOT NULL CHECK (status IN ('prospect', 'active', 'suspended', 'closed')),
	status_reason text,
	-- A party plays the customer role once.
	party_id uuid NOT NULL UNIQUE REFERENCES parties (id),
	contact_medium jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(contact_medium) = 'array'),
	account jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(account) = 'array'),
	characteristic jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(characteristic) = 'array'),
	valid_for jsonb CHECK (valid_for IS NULL OR jsonb_typeof(valid_for) = 'object'),
	preferences jsonb NOT NULL CHECK (jsonb_typeof(preferences) = 'object'),
	loyalty_balance bigint NOT NULL DEFAULT 0 CHECK (loyalty_balance >= 0),
	erased_at timestamptz CHECK (erased_at IS NULL OR status = 'closed'),
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	version bigint NOT NULL DEFAULT 1 CHECK (version >= 1)
);
CREATE INDEX customers_status ON customers (status);
CREATE INDEX customers_created ON customers (created_at, id);

-- Every status a customer went through (kept on erasure; the reason is not).
CREATE TABLE state_history (
	customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
	version bigint NOT NULL,
	from_state text CHECK (from_state IN ('prospect', 'active', 'suspended', 'closed')),
	to_state text NOT NULL CHECK (to_state IN ('prospect', 'active', 'suspended', 'closed')),
	reason text,
	at timestamptz NOT NULL DEFAULT now(),
	by_subject text NOT NULL,
	PRIMARY KEY (customer_id, version)
);

-- Consents as given and withdrawn: a history, never updated but on erasure
-- (which blanks the free-text source).
CREATE TABLE consents (
	id uuid PRIMARY KEY,
	customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
	channel text NOT NULL CHECK (channel IN ('email', 'sms', 'phone', 'post')),
	purpose text NOT NULL CHECK (purpose IN ('marketing', 'service', 'profiling',
		'third-party')),
	state text NOT NULL CHECK (state IN ('given', 'withdrawn')),
	at timestamptz NOT NULL,
	source text,
	recorded_at timestamptz NOT NULL DEFAULT now(),
	recorded_by text NOT NULL
);
CREATE INDEX consents_customer ON consents (customer_id, recorded_at);

-- Loyalty transactions; the balance is customers.loyalty_balance.
CREATE TABLE loyalty_transactions (
	id uuid PRIMARY KEY,
	customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
	kind text NOT NULL CHECK (kind IN ('earn', 'redeem')),
	points bigint NOT NULL CHECK (points BETWEEN 1 AND 1000000000),
	reference text NOT NULL CHECK (reference <> ''),
	reason text,
	balance_after bigint NOT NULL CHECK (balance_after >= 0),
	at timestamptz NOT NULL DEFAULT now(),
	by_subject text NOT NULL,
	-- The caller's reference makes a retry harmless.
	UNIQUE (customer_id, reference)
);
CREATE INDEX loyalty_customer ON loyalty_transactions (customer_id, at);
