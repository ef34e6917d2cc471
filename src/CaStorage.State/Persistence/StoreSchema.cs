namespace CaStorage.State.Persistence;

/// <summary>
/// The store's schema, one list of versioned steps shared by SQLite and PostgreSQL (types both accept: BIGINT,
/// INTEGER, TEXT; GUIDs as text, unsigned 64-bit ids stored bit-for-bit in signed BIGINT). Steps only ever append.
/// </summary>
public static class StoreSchema
{
    public static int CurrentVersion => Steps.Length;

    /// <summary>Step i brings the schema from version i to i+1.</summary>
    internal static readonly string[][] Steps =
    [
        [
            "CREATE TABLE sessions (session_id BIGINT PRIMARY KEY, user_name TEXT NOT NULL, user_sid TEXT NOT NULL, client_guid TEXT NOT NULL, node TEXT NOT NULL)",
            "CREATE TABLE leases (client_guid TEXT NOT NULL, lease_key TEXT NOT NULL, share TEXT NOT NULL, file_id BIGINT NOT NULL, state INTEGER NOT NULL, epoch INTEGER NOT NULL, version INTEGER NOT NULL, parent_key TEXT NOT NULL, PRIMARY KEY (client_guid, lease_key))",
            "CREATE TABLE opens (open_id BIGINT PRIMARY KEY, share TEXT NOT NULL, file_id BIGINT NOT NULL, path TEXT NOT NULL, client_guid TEXT NOT NULL, create_guid TEXT NOT NULL, app_instance_id TEXT NOT NULL, session_id BIGINT NOT NULL, user_name TEXT NOT NULL, user_sid TEXT NOT NULL, access BIGINT NOT NULL, share_access INTEGER NOT NULL, create_options BIGINT NOT NULL, is_directory INTEGER NOT NULL, delete_on_close INTEGER NOT NULL, durable_version INTEGER NOT NULL, persistent INTEGER NOT NULL, timeout_ms BIGINT NOT NULL, oplock INTEGER NOT NULL, lease_key TEXT, position BIGINT NOT NULL, node TEXT NOT NULL, disconnected_at BIGINT, lock_sequences TEXT NOT NULL)",
            "CREATE INDEX opens_by_create_guid ON opens (client_guid, create_guid)",
            "CREATE INDEX opens_by_lease ON opens (client_guid, lease_key)",
            "CREATE INDEX opens_by_session ON opens (session_id)",
            "CREATE INDEX opens_by_node ON opens (node)",
            "CREATE TABLE byte_range_locks (open_id BIGINT NOT NULL, seq INTEGER NOT NULL, lock_offset BIGINT NOT NULL, lock_length BIGINT NOT NULL, exclusive INTEGER NOT NULL, PRIMARY KEY (open_id, seq))",
        ],
        [
            // Cluster membership and shard ownership (ARCHITECTURE §3); unused by a single node.
            "CREATE TABLE nodes (node_id TEXT PRIMARY KEY, lock_key BIGINT NOT NULL, rpc_endpoint TEXT NOT NULL, smb_endpoint TEXT NOT NULL, started_at BIGINT NOT NULL, state TEXT NOT NULL)",
            "CREATE TABLE shards (shard INTEGER PRIMARY KEY, owner TEXT, epoch BIGINT NOT NULL)",
        ],
        [
            // A hung node (SIGSTOP, a stalled VM) keeps its connection and its locks: its heartbeat shows it.
            "ALTER TABLE nodes ADD COLUMN heartbeat_ms BIGINT NOT NULL DEFAULT 0",
        ],
    ];
}
