-- SPDX-License-Identifier: BSD-3-Clause
-- usage_partition() named its tables without a schema, so it worked only
-- with search_path set to billing (the domain's connections; not psql's or
-- a tool's). It now keeps the search path it was created with.
ALTER FUNCTION usage_partition(timestamptz) SET search_path FROM CURRENT;
