-- The SQLite schema at Alembic head, as `alembic upgrade head` leaves an empty file.
-- Written by `make schema` (python -m monitor.store.fresh); never edited by hand.
-- head: 0008_alert_status_channel_id
CREATE TABLE alembic_version (
	version_num VARCHAR(32) NOT NULL,
	CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);
CREATE TABLE alert (
	id INTEGER NOT NULL,
	source_id INTEGER,
	channel VARCHAR NOT NULL,
	event_type VARCHAR NOT NULL,
	idempotency_key VARCHAR NOT NULL,
	payload JSON NOT NULL,
	status VARCHAR NOT NULL,
	attempts INTEGER NOT NULL,
	created_at DATETIME NOT NULL,
	next_attempt_at DATETIME NOT NULL,
	last_error VARCHAR,
	delivered_at DATETIME,
	version_id INTEGER, claimed_by VARCHAR,
	FOREIGN KEY(source_id) REFERENCES source (id),
	FOREIGN KEY(version_id) REFERENCES version (id),
	PRIMARY KEY (id),
	UNIQUE (idempotency_key)
);
CREATE TABLE "change" (
	id INTEGER NOT NULL,
	source_id INTEGER NOT NULL,
	old_version_id INTEGER NOT NULL,
	new_version_id INTEGER NOT NULL,
	position INTEGER NOT NULL,
	section VARCHAR NOT NULL,
	kind VARCHAR NOT NULL,
	topics JSON NOT NULL,
	alert_topics JSON NOT NULL,
	severity VARCHAR,
	summary VARCHAR NOT NULL,
	"before" TEXT NOT NULL,
	"after" TEXT NOT NULL,
	not_rated VARCHAR,
	substantive BOOLEAN NOT NULL,
	FOREIGN KEY(new_version_id) REFERENCES version (id),
	FOREIGN KEY(old_version_id) REFERENCES version (id),
	FOREIGN KEY(source_id) REFERENCES source (id),
	PRIMARY KEY (id)
);
CREATE TABLE "check" (
	id INTEGER NOT NULL,
	source_id INTEGER NOT NULL,
	started_at DATETIME NOT NULL,
	duration_ms INTEGER NOT NULL,
	outcome VARCHAR NOT NULL,
	http_status INTEGER,
	error VARCHAR,
	version_seq INTEGER,
	reverts_to INTEGER,
	FOREIGN KEY(source_id) REFERENCES source (id),
	PRIMARY KEY (id)
);
CREATE TABLE daemon_state (
	"key" VARCHAR NOT NULL,
	value VARCHAR NOT NULL,
	updated_at DATETIME NOT NULL,
	PRIMARY KEY ("key")
);
CREATE TABLE dispatch (
	source VARCHAR NOT NULL,
	due_at DATETIME NOT NULL,
	next_run_at DATETIME NOT NULL,
	queued_at DATETIME,
	PRIMARY KEY (source)
);
CREATE TABLE host_turn (
	host VARCHAR NOT NULL,
	next_start_at DATETIME NOT NULL,
	PRIMARY KEY (host)
);
CREATE TABLE renormalization (
	id INTEGER NOT NULL,
	version_id INTEGER NOT NULL,
	at DATETIME NOT NULL,
	normalizer_version INTEGER NOT NULL,
	old_hash VARCHAR NOT NULL,
	new_hash VARCHAR NOT NULL,
	old_text TEXT NOT NULL,
	FOREIGN KEY(version_id) REFERENCES version (id),
	PRIMARY KEY (id)
);
CREATE TABLE "section" (
	id INTEGER NOT NULL,
	version_id INTEGER NOT NULL,
	position INTEGER NOT NULL,
	"key" VARCHAR NOT NULL,
	number VARCHAR,
	title VARCHAR NOT NULL,
	level INTEGER NOT NULL,
	path VARCHAR NOT NULL,
	text TEXT NOT NULL,
	topics JSON,
	FOREIGN KEY(version_id) REFERENCES version (id),
	PRIMARY KEY (id)
);
CREATE TABLE source (
	id INTEGER NOT NULL,
	name VARCHAR NOT NULL,
	url VARCHAR NOT NULL,
	etag VARCHAR,
	last_modified VARCHAR,
	last_checked_at DATETIME,
	last_outcome VARCHAR,
	consecutive_failures INTEGER NOT NULL,
	failing_reported BOOLEAN NOT NULL,
	unstable_reported BOOLEAN NOT NULL,
	lock_owner VARCHAR,
	lock_expires_at DATETIME,
	created_at DATETIME NOT NULL, final_url VARCHAR, text_fingerprint VARCHAR,
	PRIMARY KEY (id)
);
CREATE TABLE version (
	id INTEGER NOT NULL,
	source_id INTEGER NOT NULL,
	seq INTEGER NOT NULL,
	fetched_at DATETIME NOT NULL,
	url VARCHAR NOT NULL,
	http_status INTEGER,
	content_type VARCHAR NOT NULL,
	text_hash VARCHAR NOT NULL,
	raw_hash VARCHAR NOT NULL,
	raw BLOB NOT NULL,
	text TEXT NOT NULL,
	normalizer_version INTEGER NOT NULL,
	reverts_to INTEGER,
	FOREIGN KEY(source_id) REFERENCES source (id),
	PRIMARY KEY (id),
	UNIQUE (source_id, seq)
);
CREATE TABLE worker (
	id INTEGER NOT NULL,
	name VARCHAR NOT NULL,
	role VARCHAR NOT NULL,
	host VARCHAR NOT NULL,
	pid INTEGER NOT NULL,
	started_at DATETIME NOT NULL,
	heartbeat_at DATETIME NOT NULL,
	heartbeat_interval FLOAT NOT NULL,
	stopped_at DATETIME,
	running INTEGER NOT NULL,
	done INTEGER NOT NULL,
	engine_id INTEGER,
	PRIMARY KEY (id)
);
CREATE INDEX ix_alert_channel ON alert (channel);
CREATE INDEX ix_alert_next_attempt_at ON alert (next_attempt_at);
CREATE INDEX ix_alert_source_id ON alert (source_id);
CREATE INDEX ix_alert_status ON alert (status);
CREATE INDEX ix_alert_status_channel_id ON alert (status, channel, id);
CREATE INDEX ix_change_new_version_id ON change (new_version_id);
CREATE INDEX ix_change_source_id ON change (source_id);
CREATE INDEX ix_check_source_id ON "check" (source_id);
CREATE INDEX ix_check_started_at ON "check" (started_at);
CREATE INDEX ix_dispatch_next_run_at ON dispatch (next_run_at);
CREATE INDEX ix_renormalization_version_id ON renormalization (version_id);
CREATE INDEX ix_section_version_id ON section (version_id);
CREATE UNIQUE INDEX ix_source_name ON source (name);
CREATE INDEX ix_version_source_id ON version (source_id);
CREATE INDEX ix_version_text_hash ON version (text_hash);
CREATE INDEX ix_worker_name ON worker (name);
