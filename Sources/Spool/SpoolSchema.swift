import GRDB

/// The spool's schema, as versioned migrations. A migration, once released, is never edited:
/// a change is a new migration.
enum SpoolSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: messages, recipients, body chunks, attempts") { db in
            // One row per accepted message: envelope, client facts, DSN parameters.
            try db.execute(
                sql: """
                    CREATE TABLE messages (
                        id INTEGER PRIMARY KEY,
                        queue_id TEXT NOT NULL UNIQUE,
                        arrival_time REAL NOT NULL,          -- Unix seconds
                        sender TEXT NOT NULL,                -- '' is the null sender <>
                        size INTEGER NOT NULL,               -- octets of the stored text
                        body_type TEXT,                      -- 7BIT | 8BITMIME | NULL (not declared)
                        smtputf8 INTEGER NOT NULL DEFAULT 0,
                        dsn_ret TEXT,                        -- FULL | HDRS | NULL
                        dsn_envid TEXT,
                        mail_auth TEXT,                      -- MAIL FROM AUTH= (RFC 4954 §5)
                        kind TEXT NOT NULL DEFAULT 'message', -- message | bounce | warning | notice
                        session_id TEXT NOT NULL,
                        client_address TEXT NOT NULL,
                        client_port INTEGER NOT NULL,
                        client_name TEXT NOT NULL,           -- forward-confirmed reverse name or 'unknown'
                        helo_name TEXT NOT NULL,
                        protocol TEXT NOT NULL,              -- SMTP | ESMTP | ESMTPS | ESMTPA | ESMTPSA | LOCAL
                        tls_version TEXT,
                        tls_cipher TEXT,
                        auth_user TEXT,
                        forced_expire INTEGER NOT NULL DEFAULT 0
                    ) STRICT
                    """)
            // The stored text in chunks of at most BodyChunking.chunkSize octets, in order.
            try db.execute(
                sql: """
                    CREATE TABLE body_chunks (
                        message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
                        seq INTEGER NOT NULL,
                        data BLOB NOT NULL,
                        PRIMARY KEY (message_id, seq)
                    ) STRICT, WITHOUT ROWID
                    """)
            // Per-recipient delivery state; the worker schedules from (state, next_attempt).
            try db.execute(
                sql: """
                    CREATE TABLE recipients (
                        id INTEGER PRIMARY KEY,
                        message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
                        address TEXT NOT NULL,
                        dsn_notify TEXT,                     -- NEVER | SUCCESS,FAILURE,DELAY | NULL
                        dsn_orcpt TEXT,                      -- addr-type;address
                        state TEXT NOT NULL CHECK (state IN
                            ('queued', 'active', 'deferred', 'held', 'delivered', 'bounced')),
                        attempts INTEGER NOT NULL DEFAULT 0,
                        next_attempt REAL NOT NULL,
                        last_attempt REAL,
                        last_reply TEXT,
                        last_dsn TEXT,
                        last_relay TEXT,
                        warned INTEGER NOT NULL DEFAULT 0    -- a delay warning was sent
                    ) STRICT
                    """)
            try db.execute(sql: "CREATE INDEX recipients_due ON recipients(state, next_attempt)")
            try db.execute(sql: "CREATE INDEX recipients_message ON recipients(message_id)")
            // Every delivery attempt, for `relayctl queue show`.
            try db.execute(
                sql: """
                    CREATE TABLE attempts (
                        id INTEGER PRIMARY KEY,
                        message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
                        recipient_id INTEGER REFERENCES recipients(id) ON DELETE CASCADE,
                        time REAL NOT NULL,
                        relay TEXT,
                        reply TEXT,
                        dsn TEXT,
                        outcome TEXT NOT NULL                -- delivered | deferred | bounced
                    ) STRICT
                    """)
            try db.execute(sql: "CREATE INDEX attempts_message ON attempts(message_id)")
        }
        migrator.registerMigration("v2: attempts by recipient") { db in
            // Deleting a recipient cascades to its attempts; without this index every delivered
            // recipient of a finished message would scan the whole attempts table.
            try db.execute(sql: "CREATE INDEX attempts_recipient ON attempts(recipient_id)")
        }
        return migrator
    }
}

/// How message text is cut for storage.
enum BodyChunking {
    /// Octets per `body_chunks` row: large enough to keep rows few, small enough that reading or
    /// writing one costs little memory.
    static let chunkSize = 64 * 1024
}
