-- SPDX-License-Identifier: BSD-3-Clause
-- The catalog domain: its write side (resources and their references,
-- inventory items and reservations) and its read model (rm_resources, kept
-- by the consumer "readmodel" from the domain's own events). Rules the C
-- code checks are repeated here as constraints where a column holds them.

-- ---- write side ------------------------------------------------------------

-- Every TMF resource (catalog, category, specification, offering, price) and
-- appliance resource (profile, promotion): its stored form in body (see
-- bss/catalog/model.h), the columns that constraints and lookups need.
CREATE TABLE resources (
	id uuid PRIMARY KEY,
	kind text NOT NULL CHECK (kind IN ('catalog', 'category', 'specification',
		'offering', 'price', 'profile', 'promotion')),
	name text NOT NULL CHECK (octet_length(name) BETWEEN 1 AND 200),
	-- TMF lifecycleStatus; none for profiles and promotions.
	lifecycle_status text CHECK (lifecycle_status IN ('In Design', 'Active', 'Retired')),
	body jsonb NOT NULL CHECK (jsonb_typeof(body) = 'object'),
	-- Optimistic concurrency; also the aggregate's version in the outbox.
	revision bigint NOT NULL DEFAULT 1 CHECK (revision >= 1),
	created_at timestamptz NOT NULL DEFAULT now(),
	last_update timestamptz NOT NULL DEFAULT now(),
	CHECK ((lifecycle_status IS NULL) = (kind IN ('profile', 'promotion'))),
	CHECK (body->>'name' = name),
	CHECK (kind <> 'price' OR (body->'price'->>'unit' ~ '^[A-Z]{3}$'
		AND (body->>'x-minorUnits')::bigint >= 0)),
	CHECK (kind <> 'profile' OR name ~ '^[A-Za-z0-9._-]{1,63}$'),
	CHECK (kind <> 'promotion' OR (body->>'duration_months')::int BETWEEN 1 AND 120)
);
-- A profile's name is its name in the dataplane.
CREATE UNIQUE INDEX resources_profile_name ON resources (name) WHERE kind = 'profile';
CREATE INDEX resources_kind ON resources (kind, name);

-- What refers to what: a resource that is referred to cannot be deleted
-- (the foreign key on to_id), which keeps every reference resolvable.
CREATE TABLE refs (
	from_id uuid NOT NULL REFERENCES resources (id) ON DELETE CASCADE,
	attr text NOT NULL,
	to_id uuid NOT NULL REFERENCES resources (id),
	PRIMARY KEY (from_id, attr, to_id)
);
CREATE INDEX refs_to ON refs (to_id);

CREATE TABLE inventory_items (
	id uuid PRIMARY KEY,
	name text NOT NULL CHECK (octet_length(name) BETWEEN 1 AND 200),
	description text,
	kind text NOT NULL CHECK (kind IN ('cpe', 'port-capacity', 'sim', 'other')),
	sku text NOT NULL UNIQUE CHECK (sku ~ '^[A-Za-z0-9._-]{1,64}$'),
	-- On hand; reserved units are part of it until committed (taken out).
	quantity bigint NOT NULL CHECK (quantity >= 0),
	reserved bigint NOT NULL DEFAULT 0 CHECK (reserved >= 0 AND reserved <= quantity),
	version bigint NOT NULL DEFAULT 1 CHECK (version >= 1),
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now()
);

-- A reservation is named by its caller (an order id ...): the same id again
-- is the same reservation, which makes reserve, release and commit idempotent.
CREATE TABLE reservations (
	item_id uuid NOT NULL REFERENCES inventory_items (id) ON DELETE CASCADE,
	reservation_id text NOT NULL CHECK (reservation_id ~ '^[A-Za-z0-9._:-]{1,64}$'),
	quantity bigint NOT NULL CHECK (quantity BETWEEN 1 AND 1000000),
	state text NOT NULL CHECK (state IN ('reserved', 'released', 'committed')),
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (item_id, reservation_id)
);

-- ---- read model ---------------------------------------------------------------

-- One document per resource, as the last event of its aggregate showed it
-- (raw), and as reads serve it (doc): the same, except for offerings, whose
-- doc embeds their specification (with its bandwidth profile), their prices
-- and the promotions that name them.
CREATE TABLE rm_resources (
	id uuid PRIMARY KEY,
	kind text NOT NULL,
	name text NOT NULL,
	lifecycle_status text,
	raw jsonb NOT NULL,
	doc jsonb NOT NULL,
	revision bigint NOT NULL,
	last_update timestamptz NOT NULL,
	seq bigint NOT NULL
);
CREATE INDEX rm_resources_list ON rm_resources (kind, name, id);
CREATE INDEX rm_resources_doc ON rm_resources USING gin (doc jsonb_path_ops);

-- The denormalised document of an offering, from the read model alone.
CREATE FUNCTION rm_offering_doc(o jsonb) RETURNS jsonb
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $$
	SELECT o
	|| CASE WHEN o ? 'productSpecification' THEN jsonb_build_object('productSpecification',
		COALESCE((SELECT s.doc || CASE WHEN s.doc ? 'bandwidthProfile'
				THEN jsonb_build_object('bandwidthProfile', COALESCE(
					(SELECT p.doc FROM rm_resources p
					 WHERE p.id::text = s.doc->'bandwidthProfile'->>'id'),
					s.doc->'bandwidthProfile'))
				ELSE '{}'::jsonb END
			  FROM rm_resources s
			  WHERE s.id::text = o->'productSpecification'->>'id'),
			 o->'productSpecification'))
	   ELSE '{}'::jsonb END
	|| CASE WHEN o ? 'productOfferingPrice' THEN jsonb_build_object('productOfferingPrice',
		(SELECT COALESCE(jsonb_agg(COALESCE(p.doc, r.value) ORDER BY r.ord), '[]'::jsonb)
		 FROM jsonb_array_elements(o->'productOfferingPrice') WITH ORDINALITY AS r (value, ord)
		 LEFT JOIN rm_resources p ON p.id::text = r.value->>'id'))
	   ELSE '{}'::jsonb END
	|| jsonb_build_object('x-promotions',
		(SELECT COALESCE(jsonb_agg(m.doc ORDER BY m.doc->>'valid_from', m.id), '[]'::jsonb)
		 FROM rm_resources m
		 WHERE m.kind = 'promotion' AND m.doc->'offering_ids' ? (o->>'id')))
$$;
