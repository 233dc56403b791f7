-- SPDX-License-Identifier: BSD-3-Clause
-- The billing domain's money side (docs/billing.md): billing accounts, the
-- charges the order saga's plans set up, billing runs, invoices (customer
-- bills) and their lines, gapless numbers per year, payments and their
-- allocation to invoices, dunning. Money is always in integer minor units.

-- A customer's billing account (TMF666 BillingAccount): one per customer.
CREATE TABLE accounts (
	id uuid PRIMARY KEY,
	customer_id uuid NOT NULL UNIQUE,
	name text NOT NULL CHECK (octet_length(name) BETWEEN 1 AND 200),
	state text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'suspended', 'closed')),
	-- 'calendar': cycles from the 1st of a month; 'anniversary': from cycle_day.
	cycle text NOT NULL CHECK (cycle IN ('calendar', 'anniversary')),
	cycle_day int NOT NULL CHECK (cycle_day BETWEEN 1 AND 28),
	currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
	payment_terms_days int NOT NULL CHECK (payment_terms_days BETWEEN 0 AND 365),
	-- Dunning: the last step taken (0: none) for the oldest overdue invoice,
	-- and the availability billing imposed on the services (NULL: none).
	dunning_step int NOT NULL DEFAULT 0 CHECK (dunning_step >= 0),
	dunning_invoice uuid,
	suspension text CHECK (suspension IN ('suspended', 'walled-garden')),
	version bigint NOT NULL DEFAULT 1 CHECK (version >= 1),
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	CHECK (cycle = 'anniversary' OR cycle_day = 1),
	CHECK ((suspension IS NULL) = (state <> 'suspended'))
);

-- What an account pays for, from a plan item: a recurring price over
-- [start_date, end_date) (end_date NULL: still running), the promotion's
-- discount for its first promo_months cycles, a one-off fee billed once,
-- and a volume allowance with a price per extra GB.
CREATE TABLE charges (
	id uuid PRIMARY KEY,
	account_id uuid NOT NULL REFERENCES accounts (id),
	plan_id uuid NOT NULL REFERENCES plans (id),
	order_item_id text NOT NULL,
	service_id uuid,
	offering_id text NOT NULL,
	name text NOT NULL,
	currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
	recurring_minor bigint NOT NULL CHECK (recurring_minor >= 0),
	discount_minor bigint NOT NULL DEFAULT 0 CHECK (discount_minor >= 0),
	promo_months int NOT NULL DEFAULT 0 CHECK (promo_months >= 0),
	promotion text,
	one_time_minor bigint NOT NULL DEFAULT 0 CHECK (one_time_minor >= 0),
	-- The invoice that billed the one-off fee: it is billed once.
	one_time_invoice uuid,
	allowance_bytes bigint CHECK (allowance_bytes >= 0),
	per_gb_minor bigint CHECK (per_gb_minor >= 0),
	start_date date NOT NULL,
	end_date date,
	-- The plan (modify, delete) that ended it: cancelling that plan reopens it.
	ended_by_plan uuid,
	created_at timestamptz NOT NULL DEFAULT now(),
	UNIQUE (plan_id, order_item_id),
	CHECK (end_date IS NULL OR end_date >= start_date)
);
CREATE INDEX charges_account ON charges (account_id, start_date);
CREATE INDEX charges_service ON charges (service_id) WHERE end_date IS NULL;

-- The last invoice number of each year: incremented in the transaction
-- that issues the invoice, so numbers have no gaps (a rollback gives the
-- number back) and follow commit order.
CREATE TABLE invoice_numbers (
	year int PRIMARY KEY CHECK (year BETWEEN 1970 AND 9999),
	last bigint NOT NULL CHECK (last >= 0)
);

-- A billing run: every account whose cycle starts on cycle_start.
CREATE TABLE runs (
	id uuid PRIMARY KEY,
	cycle_start date NOT NULL,
	cycle_end date NOT NULL,
	kind text NOT NULL CHECK (kind IN ('scheduled', 'requested')),
	state text NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'completed')),
	accounts int NOT NULL DEFAULT 0,
	invoiced int NOT NULL DEFAULT 0,
	skipped int NOT NULL DEFAULT 0,
	failed int NOT NULL DEFAULT 0,
	total_minor bigint NOT NULL DEFAULT 0,
	requested_by text NOT NULL DEFAULT '',
	created_at timestamptz NOT NULL DEFAULT now(),
	finished_at timestamptz,
	CHECK (cycle_end > cycle_start)
);
-- One scheduled run per cycle, and never two running at once for a cycle.
CREATE UNIQUE INDEX runs_scheduled ON runs (cycle_start) WHERE kind = 'scheduled';
CREATE UNIQUE INDEX runs_running ON runs (cycle_start) WHERE state = 'running';

-- A run's work list, written when the run starts: each account once.
CREATE TABLE run_accounts (
	run_id uuid NOT NULL REFERENCES runs (id),
	account_id uuid NOT NULL REFERENCES accounts (id),
	state text NOT NULL DEFAULT 'pending'
		CHECK (state IN ('pending', 'invoiced', 'skipped', 'failed')),
	invoice_id uuid,
	reason text,
	PRIMARY KEY (run_id, account_id)
);
CREATE INDEX run_accounts_pending ON run_accounts (run_id, account_id) WHERE state = 'pending';

-- An issued invoice (TMF678 CustomerBill) or credit note. Immutable once
-- issued but for its state, what was paid and credited, and when it moved.
CREATE TABLE invoices (
	id uuid PRIMARY KEY,
	number text NOT NULL UNIQUE,
	year int NOT NULL,
	seq bigint NOT NULL CHECK (seq >= 1),
	kind text NOT NULL CHECK (kind IN ('invoice', 'creditNote')),
	account_id uuid NOT NULL REFERENCES accounts (id),
	customer_id uuid NOT NULL,
	run_id uuid REFERENCES runs (id),
	on_demand boolean NOT NULL DEFAULT false,
	cycle_start date,
	cycle_end date,
	credited_invoice uuid REFERENCES invoices (id),
	reason text,
	currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
	net_minor bigint NOT NULL,
	tax_minor bigint NOT NULL,
	total_minor bigint NOT NULL,
	tax_rate_bp int NOT NULL CHECK (tax_rate_bp BETWEEN 0 AND 10000),
	state text NOT NULL CHECK (state IN ('new', 'onHold', 'validated', 'sent',
		'partiallyPaid', 'settled')),
	paid_minor bigint NOT NULL DEFAULT 0 CHECK (paid_minor >= 0),
	credited_minor bigint NOT NULL DEFAULT 0 CHECK (credited_minor >= 0),
	issued_at timestamptz NOT NULL DEFAULT now(),
	due_at timestamptz NOT NULL,
	sent_at timestamptz,
	settled_at timestamptz,
	version bigint NOT NULL DEFAULT 1 CHECK (version >= 1),
	UNIQUE (year, seq),
	CHECK (kind = 'creditNote' OR paid_minor + credited_minor <= total_minor),
	CHECK ((kind = 'creditNote') = (credited_invoice IS NOT NULL)),
	CHECK (kind = 'creditNote' OR cycle_start IS NOT NULL)
);
-- Each account's cycle is invoiced once, whatever runs or requests ask it.
CREATE UNIQUE INDEX invoices_cycle ON invoices (account_id, cycle_start) WHERE kind = 'invoice';
CREATE UNIQUE INDEX invoices_run ON invoices (run_id, account_id) WHERE run_id IS NOT NULL;
CREATE INDEX invoices_account ON invoices (account_id, issued_at);
CREATE INDEX invoices_open ON invoices (due_at) WHERE state IN ('sent', 'partiallyPaid');

-- An invoice's lines (TMF678 AppliedCustomerBillingRate).
CREATE TABLE invoice_lines (
	id uuid PRIMARY KEY,
	invoice_id uuid NOT NULL REFERENCES invoices (id),
	seq int NOT NULL,
	kind text NOT NULL CHECK (kind IN ('recurring', 'proration', 'oneTime', 'usage',
		'discount', 'tax', 'credit')),
	description text NOT NULL,
	charge_id uuid,
	service_id uuid,
	period_start date,
	period_end date,
	quantity bigint NOT NULL DEFAULT 1,
	unit text NOT NULL DEFAULT 'each',
	amount_minor bigint NOT NULL,
	UNIQUE (invoice_id, seq)
);

CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'billing: % of % refused: issued invoices are immutable (correct them with a credit note)',
		TG_OP, TG_TABLE_NAME USING ERRCODE = '42501';
END $$;
CREATE TRIGGER invoice_lines_immutable BEFORE UPDATE OR DELETE ON invoice_lines
	FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER invoice_lines_no_truncate BEFORE TRUNCATE ON invoice_lines
	FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER invoices_no_delete BEFORE DELETE ON invoices
	FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER invoices_no_truncate BEFORE TRUNCATE ON invoices
	FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

CREATE FUNCTION invoice_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF (NEW.id, NEW.number, NEW.year, NEW.seq, NEW.kind, NEW.account_id, NEW.customer_id,
	    NEW.run_id, NEW.cycle_start, NEW.cycle_end, NEW.credited_invoice, NEW.currency,
	    NEW.net_minor, NEW.tax_minor, NEW.total_minor, NEW.tax_rate_bp, NEW.issued_at,
	    NEW.due_at)
	   IS DISTINCT FROM
	   (OLD.id, OLD.number, OLD.year, OLD.seq, OLD.kind, OLD.account_id, OLD.customer_id,
	    OLD.run_id, OLD.cycle_start, OLD.cycle_end, OLD.credited_invoice, OLD.currency,
	    OLD.net_minor, OLD.tax_minor, OLD.total_minor, OLD.tax_rate_bp, OLD.issued_at,
	    OLD.due_at) THEN
		RAISE EXCEPTION 'billing: invoice % is issued: only its state and payments change',
			OLD.number USING ERRCODE = '42501';
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER invoices_fixed BEFORE UPDATE ON invoices
	FOR EACH ROW EXECUTE FUNCTION invoice_fixed();

-- A payment (TMF676 Payment), once per external reference.
CREATE TABLE payments (
	id uuid PRIMARY KEY,
	account_id uuid NOT NULL REFERENCES accounts (id),
	external_ref text NOT NULL UNIQUE CHECK (octet_length(external_ref) BETWEEN 1 AND 200),
	amount_minor bigint NOT NULL CHECK (amount_minor > 0),
	currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
	method text NOT NULL DEFAULT '',
	description text NOT NULL DEFAULT '',
	payment_date timestamptz NOT NULL,
	-- What is not allocated to invoices yet: the account's credit.
	unallocated_minor bigint NOT NULL CHECK (unallocated_minor >= 0),
	created_at timestamptz NOT NULL DEFAULT now(),
	CHECK (unallocated_minor <= amount_minor)
);
CREATE INDEX payments_account ON payments (account_id, created_at);

-- How much of a payment went to an invoice.
CREATE TABLE allocations (
	payment_id uuid NOT NULL REFERENCES payments (id),
	invoice_id uuid NOT NULL REFERENCES invoices (id),
	amount_minor bigint NOT NULL CHECK (amount_minor > 0),
	created_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (payment_id, invoice_id)
);
CREATE INDEX allocations_invoice ON allocations (invoice_id);

-- What dunning did: each step taken once per overdue invoice.
CREATE TABLE dunning_actions (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	account_id uuid NOT NULL REFERENCES accounts (id),
	invoice_id uuid REFERENCES invoices (id),
	step int NOT NULL,
	days int NOT NULL,
	action text NOT NULL CHECK (action IN ('reminder', 'suspend', 'walled-garden', 'restore')),
	at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dunning_actions_account ON dunning_actions (account_id, id);

-- TMF678 CustomerBillOnDemand: an account's ended cycle invoiced at once.
CREATE TABLE bill_requests (
	id uuid PRIMARY KEY,
	account_id uuid NOT NULL REFERENCES accounts (id),
	name text NOT NULL DEFAULT '',
	description text NOT NULL DEFAULT '',
	state text NOT NULL CHECK (state IN ('done', 'rejected')),
	invoice_id uuid REFERENCES invoices (id),
	reason text,
	requested_by text NOT NULL DEFAULT '',
	created_at timestamptz NOT NULL DEFAULT now()
);

-- ---- representations (TMF documents), one place for every reader -------------------------

-- ISO 4217 minor digits: 0 and 3 for the few, 2 for every other.
CREATE FUNCTION minor_digits(cur text) RETURNS int LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN cur IN ('BIF', 'CLP', 'DJF', 'GNF', 'ISK', 'JPY', 'KMF', 'KRW', 'PYG',
		'RWF', 'UGX', 'UYI', 'VND', 'VUV', 'XAF', 'XOF', 'XPF') THEN 0
	WHEN cur IN ('BHD', 'IQD', 'JOD', 'KWD', 'LYD', 'OMR', 'TND') THEN 3 ELSE 2 END
$$;

-- TMF Money, with the exact integer as x-minorUnits.
CREATE FUNCTION money(minor bigint, cur text) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
	SELECT jsonb_build_object('unit', cur, 'value',
		round(minor::numeric / (10::numeric ^ minor_digits(cur)), minor_digits(cur)),
		'x-minorUnits', minor)
$$;

CREATE FUNCTION ts(t timestamptz) RETURNS text LANGUAGE sql IMMUTABLE AS $$
	SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;

-- What an account owes: its open invoices less its unallocated payments.
CREATE FUNCTION account_balance(acc uuid) RETURNS bigint LANGUAGE sql STABLE AS $$
	SELECT COALESCE((SELECT sum(total_minor - paid_minor - credited_minor) FROM invoices
		WHERE account_id = acc AND kind = 'invoice' AND state <> 'settled'), 0)
	     - COALESCE((SELECT sum(unallocated_minor) FROM payments WHERE account_id = acc), 0)
$$;

CREATE FUNCTION account_doc(a accounts) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object(
		'id', a.id,
		'href', '/tmf-api/accountManagement/v4/billingAccount/' || a.id,
		'@type', 'BillingAccount',
		'name', a.name,
		'state', a.state,
		'accountType', 'customer',
		'relatedParty', jsonb_build_array(jsonb_build_object('id', a.customer_id,
			'role', 'customer', '@referredType', 'Customer')),
		'billStructure', jsonb_build_object('cycleSpecification', jsonb_build_object(
			'name', a.cycle, 'billingPeriod', 'month', 'dateShift', a.cycle_day - 1,
			'x-cycleDay', a.cycle_day)),
		'paymentPlan', jsonb_build_array(jsonb_build_object('x-paymentTermsDays',
			a.payment_terms_days)),
		'accountBalance', jsonb_build_array(jsonb_build_object('balanceType', 'receivable',
			'amount', money(account_balance(a.id), a.currency))),
		'x-currency', a.currency,
		'x-dunning', jsonb_build_object('step', a.dunning_step,
			'suspension', a.suspension),
		'x-version', a.version,
		'lastModified', ts(a.updated_at),
		'x-createdAt', ts(a.created_at))
$$;

CREATE FUNCTION bill_doc(i invoices) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_strip_nulls(jsonb_build_object(
		'id', i.id,
		'href', '/tmf-api/customerBillManagement/v4/customerBill/' || i.id,
		'@type', 'CustomerBill',
		'billNo', i.number,
		'category', CASE WHEN i.kind = 'creditNote' THEN 'creditNote'
			WHEN i.on_demand THEN 'onDemand' ELSE 'normal' END,
		'state', i.state,
		'billingAccount', jsonb_build_object('id', i.account_id,
			'href', '/tmf-api/accountManagement/v4/billingAccount/' || i.account_id),
		'relatedParty', jsonb_build_array(jsonb_build_object('id', i.customer_id,
			'role', 'customer')),
		'billDate', ts(i.issued_at),
		'paymentDueDate', ts(i.due_at),
		'billingPeriod', CASE WHEN i.cycle_start IS NULL THEN NULL ELSE jsonb_build_object(
			'startDateTime', to_char(i.cycle_start, 'YYYY-MM-DD') || 'T00:00:00Z',
			'endDateTime', to_char(i.cycle_end, 'YYYY-MM-DD') || 'T00:00:00Z') END,
		'amountDue', money(i.total_minor, i.currency),
		'taxExcludedAmount', money(i.net_minor, i.currency),
		'taxIncludedAmount', money(i.total_minor, i.currency),
		'remainingAmount', money(CASE WHEN i.kind = 'invoice'
			THEN i.total_minor - i.paid_minor - i.credited_minor ELSE 0 END, i.currency),
		'taxItem', jsonb_build_array(jsonb_build_object('taxCategory', 'VAT',
			'taxRate', round(i.tax_rate_bp::numeric / 100, 2),
			'taxAmount', money(i.tax_minor, i.currency))),
		'appliedPayment', (SELECT COALESCE(jsonb_agg(jsonb_build_object(
			'payment', jsonb_build_object('id', al.payment_id),
			'appliedAmount', money(al.amount_minor, i.currency)) ORDER BY al.created_at,
			al.payment_id), '[]') FROM allocations al WHERE al.invoice_id = i.id),
		'x-creditedBill', CASE WHEN i.credited_invoice IS NULL THEN NULL
			ELSE jsonb_build_object('id', i.credited_invoice) END,
		'x-reason', i.reason,
		'x-billingRun', CASE WHEN i.run_id IS NULL THEN NULL
			ELSE jsonb_build_object('id', i.run_id) END,
		'x-version', i.version,
		'lastUpdate', ts(COALESCE(i.settled_at, i.sent_at, i.issued_at))))
$$;

CREATE FUNCTION line_doc(l invoice_lines, i invoices) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_strip_nulls(jsonb_build_object(
		'id', l.id,
		'href', '/tmf-api/customerBillManagement/v4/appliedCustomerBillingRate/' || l.id,
		'@type', 'AppliedCustomerBillingRate',
		'name', l.description,
		'type', l.kind,
		'isBilled', true,
		'date', ts(i.issued_at),
		'bill', jsonb_build_object('id', i.id, 'billNo', i.number),
		'billingAccount', jsonb_build_object('id', i.account_id),
		'periodCoverage', CASE WHEN l.period_start IS NULL THEN NULL ELSE jsonb_build_object(
			'startDateTime', to_char(l.period_start, 'YYYY-MM-DD') || 'T00:00:00Z',
			'endDateTime', to_char(l.period_end, 'YYYY-MM-DD') || 'T00:00:00Z') END,
		'product', CASE WHEN l.service_id IS NULL THEN NULL
			ELSE jsonb_build_object('id', l.service_id) END,
		'characteristic', jsonb_build_array(
			jsonb_build_object('name', 'quantity', 'value', l.quantity),
			jsonb_build_object('name', 'unit', 'value', l.unit)),
		'taxExcludedAmount', money(l.amount_minor, i.currency),
		'x-charge', l.charge_id,
		'x-seq', l.seq))
$$;

CREATE FUNCTION payment_doc(p payments) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object(
		'id', p.id,
		'href', '/tmf-api/paymentManagement/v4/payment/' || p.id,
		'@type', 'Payment',
		'correlatorId', p.external_ref,
		'account', jsonb_build_object('id', p.account_id,
			'href', '/tmf-api/accountManagement/v4/billingAccount/' || p.account_id,
			'@referredType', 'BillingAccount'),
		'totalAmount', money(p.amount_minor, p.currency),
		'amount', money(p.amount_minor, p.currency),
		'paymentDate', ts(p.payment_date),
		'status', 'done',
		'description', p.description,
		'paymentMethod', jsonb_build_object('name', p.method),
		'paymentItem', (SELECT COALESCE(jsonb_agg(jsonb_build_object(
			'item', jsonb_build_object('id', al.invoice_id, '@referredType', 'CustomerBill'),
			'amount', money(al.amount_minor, p.currency)) ORDER BY al.created_at,
			al.invoice_id), '[]') FROM allocations al WHERE al.payment_id = p.id),
		'x-unallocated', money(p.unallocated_minor, p.currency),
		'x-createdAt', ts(p.created_at))
$$;

CREATE FUNCTION run_doc(r runs) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object(
		'id', r.id,
		'href', '/api/v1/billing-runs/' || r.id,
		'cycleStart', to_char(r.cycle_start, 'YYYY-MM-DD'),
		'cycleEnd', to_char(r.cycle_end, 'YYYY-MM-DD'),
		'kind', r.kind,
		'state', r.state,
		'accounts', r.accounts,
		'invoiced', r.invoiced,
		'skipped', r.skipped,
		'failed', r.failed,
		'pending', (SELECT count(*) FROM run_accounts ra WHERE ra.run_id = r.id
			AND ra.state = 'pending'),
		'totalMinor', r.total_minor,
		'requestedBy', r.requested_by,
		'createdAt', ts(r.created_at),
		'finishedAt', ts(r.finished_at))
$$;
