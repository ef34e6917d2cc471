using System.Data;
using System.Data.Common;
using CaStorage.Core;

namespace CaStorage.State.Persistence;

/// <summary>
/// The behaviour both back ends share: migrations, the batch transaction, loading. The SQL is common to SQLite and
/// PostgreSQL (ON CONFLICT upserts, @name parameters); a back end supplies connections and its migration lock.
/// </summary>
public abstract class SqlStateStore : IStateStore
{
    public abstract string Kind { get; }

    /// <summary>An open connection (pooled by the provider).</summary>
    protected abstract ValueTask<DbConnection> OpenConnectionAsync(CancellationToken ct);

    /// <summary>Serializes concurrent migrations (several nodes starting at once) inside <paramref name="tx"/>.</summary>
    protected virtual Task LockForMigrationAsync(DbConnection c, DbTransaction tx, CancellationToken ct) => Task.CompletedTask;

    public abstract ValueTask DisposeAsync();

    public async Task<int> SchemaVersionAsync(CancellationToken ct)
    {
        await using var c = await OpenConnectionAsync(ct).ConfigureAwait(false);
        return await ReadVersionAsync(c, null, ct).ConfigureAwait(false);
    }

    private static async Task<int> ReadVersionAsync(DbConnection c, DbTransaction? tx, CancellationToken ct)
    {
        await ExecAsync(c, tx, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)", ct).ConfigureAwait(false);
        await using var cmd = Command(c, tx, "SELECT MAX(version) FROM schema_version");
        var v = await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false);
        return v is null or DBNull ? 0 : Convert.ToInt32(v, System.Globalization.CultureInfo.InvariantCulture);
    }

    public async Task MigrateAsync(CancellationToken ct)
    {
        await using var c = await OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var tx = await c.BeginTransactionAsync(ct).ConfigureAwait(false);
        await LockForMigrationAsync(c, tx, ct).ConfigureAwait(false);
        var version = await ReadVersionAsync(c, tx, ct).ConfigureAwait(false);
        if (version > StoreSchema.CurrentVersion)
            throw new InvalidOperationException($"the {Kind} state store has schema version {version}; this server knows up to {StoreSchema.CurrentVersion}");
        for (var v = version; v < StoreSchema.CurrentVersion; v++)
        {
            foreach (var sql in StoreSchema.Steps[v]) await ExecAsync(c, tx, sql, ct).ConfigureAwait(false);
            await using var cmd = Command(c, tx, "INSERT INTO schema_version (version) VALUES (@v)");
            Param(cmd, "v", v + 1);
            await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        await tx.CommitAsync(ct).ConfigureAwait(false);
    }

    /// <summary>
    /// True: batches run one at a time on one connection kept open with its commands, reused with new parameters
    /// and so prepared once rather than for every statement (SQLite: preparing was about half of a batch's CPU
    /// time). The back end must call <see cref="DropWriterAsync"/> when disposed. False: a pooled connection and
    /// new commands for every batch (Npgsql prepares repeated statements by itself).
    /// </summary>
    protected virtual bool KeepsWriterConnection => false;

    /// <summary>Reads a shard's epoch inside the batch's transaction; PostgreSQL also locks the row (FOR SHARE) so no new
    /// owner can bump the epoch before the batch commits.</summary>
    protected virtual string EpochSql => "SELECT epoch FROM shards WHERE shard = @s";

    private readonly SemaphoreSlim _writerLock = new(1, 1);
    private DbConnection? _writer;
    private StatementCache? _writerStatements;

    public async Task ApplyAsync(IReadOnlyList<StoreMutation> batch, CancellationToken ct)
    {
        if (batch.Count == 0) return;
        if (!KeepsWriterConnection)
        {
            await using var c = await OpenConnectionAsync(ct).ConfigureAwait(false);
            await using var statements = new StatementCache(c, reuse: false);
            await ApplyOnAsync(c, statements, batch, EpochSql, ct).ConfigureAwait(false);
            return;
        }
        await _writerLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            _writer ??= await OpenConnectionAsync(ct).ConfigureAwait(false);
            _writerStatements ??= new StatementCache(_writer, reuse: true);
            try
            {
                await ApplyOnAsync(_writer, _writerStatements, batch, EpochSql, ct).ConfigureAwait(false);
            }
            catch
            {
                // A failed batch may leave the connection in any state: the next one (a retry) starts afresh.
                await DropWriterCoreAsync().ConfigureAwait(false);
                throw;
            }
        }
        finally
        {
            _writerLock.Release();
        }
    }

    /// <summary>Closes the kept writer connection (<see cref="KeepsWriterConnection"/>), if open.</summary>
    protected async ValueTask DropWriterAsync()
    {
        await _writerLock.WaitAsync().ConfigureAwait(false);
        try
        {
            await DropWriterCoreAsync().ConfigureAwait(false);
        }
        finally
        {
            _writerLock.Release();
        }
    }

    private async ValueTask DropWriterCoreAsync()
    {
        if (_writerStatements is { } s) await s.DisposeAsync().ConfigureAwait(false);
        if (_writer is { } w) await w.DisposeAsync().ConfigureAwait(false);
        _writerStatements = null;
        _writer = null;
    }

    private static async Task ApplyOnAsync(DbConnection c, StatementCache commands, IReadOnlyList<StoreMutation> batch, string epochSql, CancellationToken ct)
    {
        await using var tx = await c.BeginTransactionAsync(ct).ConfigureAwait(false);
        commands.Transaction = tx;
        var deleted = false;
        foreach (var m in batch)
        {
            var fence = m switch { SaveOpen so => so.Fence, DeleteOpen d => d.Fence, _ => null };
            if (fence is not null)
            {
                if (fence.Epoch < 0) throw new StaleEpochException(fence.Shard, fence.Epoch, -1); // not owned at all
                var cmd = commands.Get(epochSql);
                Param(cmd, "s", fence.Shard);
                var current = await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false);
                var epoch = current is null or DBNull ? -1 : Convert.ToInt64(current, System.Globalization.CultureInfo.InvariantCulture);
                if (epoch != fence.Epoch) throw new StaleEpochException(fence.Shard, fence.Epoch, epoch);
            }
            switch (m)
            {
                case SaveOpen s: await SaveAsync(commands, s.Open, ct).ConfigureAwait(false); break;
                case DeleteOpen d: await DeleteAsync(commands, d.Id, ct).ConfigureAwait(false); deleted = true; break;
                default: throw new ArgumentException($"unknown mutation {m.GetType().Name}", nameof(batch));
            }
        }
        // Once per batch, not per close: the sweeps read whole tables, and every SaveOpen writes its rows again anyway.
        if (deleted) await DropOrphansAsync(commands, ct).ConfigureAwait(false);
        await tx.CommitAsync(ct).ConfigureAwait(false);
    }

    /// <summary>
    /// The commands run on a connection, in its current <see cref="Transaction"/>. With reuse, one per SQL text: a
    /// statement run again (every SaveOpen runs the same three or four) gets new parameters rather than being built
    /// and prepared again (SQLite; with Npgsql a reused command went on writing its first values, see the contract test
    /// Consecutive_batches_keep_each_opens_values, so there every statement gets a new command).
    /// </summary>
    private sealed class StatementCache(DbConnection c, bool reuse) : IAsyncDisposable
    {
        private readonly Dictionary<string, DbCommand> _bySql = new(StringComparer.Ordinal);
        private readonly List<DbCommand> _all = [];

        public DbTransaction? Transaction { get; set; }

        public DbCommand Get(string sql)
        {
            if (reuse && _bySql.TryGetValue(sql, out var cmd))
            {
                cmd.Parameters.Clear();
                cmd.Transaction = Transaction;
                return cmd;
            }
            cmd = Command(c, Transaction, sql);
            if (reuse) _bySql[sql] = cmd;
            _all.Add(cmd);
            return cmd;
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var cmd in _all) await cmd.DisposeAsync().ConfigureAwait(false);
        }
    }

    private const string UpsertSession =
        "INSERT INTO sessions (session_id, user_name, user_sid, client_guid, node) VALUES (@sid, @user, @usid, @cg, @node) " +
        "ON CONFLICT (session_id) DO UPDATE SET user_name = excluded.user_name, user_sid = excluded.user_sid, client_guid = excluded.client_guid, node = excluded.node";

    private const string UpsertLease =
        "INSERT INTO leases (client_guid, lease_key, share, file_id, state, epoch, version, parent_key) VALUES (@cg, @lk, @share, @fid, @state, @epoch, @ver, @parent) " +
        "ON CONFLICT (client_guid, lease_key) DO UPDATE SET share = excluded.share, file_id = excluded.file_id, state = excluded.state, epoch = excluded.epoch, version = excluded.version, parent_key = excluded.parent_key";

    private const string UpsertOpen =
        "INSERT INTO opens (open_id, share, file_id, path, client_guid, create_guid, app_instance_id, session_id, user_name, user_sid, access, share_access, create_options, is_directory, delete_on_close, durable_version, persistent, timeout_ms, oplock, lease_key, position, node, disconnected_at, lock_sequences) " +
        "VALUES (@id, @share, @fid, @path, @cg, @create, @app, @sid, @user, @usid, @access, @sa, @opts, @dir, @doc, @dv, @pers, @timeout, @oplock, @lk, @pos, @node, @disc, @lseq) " +
        "ON CONFLICT (open_id) DO UPDATE SET share = excluded.share, file_id = excluded.file_id, path = excluded.path, client_guid = excluded.client_guid, create_guid = excluded.create_guid, " +
        "app_instance_id = excluded.app_instance_id, session_id = excluded.session_id, user_name = excluded.user_name, user_sid = excluded.user_sid, access = excluded.access, share_access = excluded.share_access, " +
        "create_options = excluded.create_options, is_directory = excluded.is_directory, delete_on_close = excluded.delete_on_close, durable_version = excluded.durable_version, persistent = excluded.persistent, " +
        "timeout_ms = excluded.timeout_ms, oplock = excluded.oplock, lease_key = excluded.lease_key, position = excluded.position, node = excluded.node, disconnected_at = excluded.disconnected_at, lock_sequences = excluded.lock_sequences";

    private static async Task SaveAsync(StatementCache commands, DurableOpenRecord o, CancellationToken ct)
    {
        {
            var cmd = commands.Get(UpsertSession);
            Param(cmd, "sid", unchecked((long)o.SessionId));
            Param(cmd, "user", o.UserName);
            Param(cmd, "usid", o.UserSid);
            Param(cmd, "cg", o.ClientGuid.ToString());
            Param(cmd, "node", o.Node);
            await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        if (o.Lease is { } l)
        {
            var cmd = commands.Get(UpsertLease);
            Param(cmd, "cg", l.Id.ClientGuid.ToString());
            Param(cmd, "lk", l.Id.Key.ToString());
            Param(cmd, "share", l.File.Share);
            Param(cmd, "fid", unchecked((long)l.File.FileId));
            Param(cmd, "state", (int)l.State);
            Param(cmd, "epoch", (int)l.Epoch);
            Param(cmd, "ver", l.Version);
            Param(cmd, "parent", l.ParentKey.ToString());
            await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        {
            var cmd = commands.Get(UpsertOpen);
            Param(cmd, "id", unchecked((long)o.Id.Value));
            Param(cmd, "share", o.File.Share);
            Param(cmd, "fid", unchecked((long)o.File.FileId));
            Param(cmd, "path", o.Path);
            Param(cmd, "cg", o.ClientGuid.ToString());
            Param(cmd, "create", o.CreateGuid.ToString());
            Param(cmd, "app", o.AppInstanceId.ToString());
            Param(cmd, "sid", unchecked((long)o.SessionId));
            Param(cmd, "user", o.UserName);
            Param(cmd, "usid", o.UserSid);
            Param(cmd, "access", (long)(uint)o.Access);
            Param(cmd, "sa", (int)o.ShareAccess);
            Param(cmd, "opts", (long)o.CreateOptions);
            Param(cmd, "dir", o.IsDirectory ? 1 : 0);
            Param(cmd, "doc", o.DeleteOnClose ? 1 : 0);
            Param(cmd, "dv", o.DurableVersion);
            Param(cmd, "pers", o.Persistent ? 1 : 0);
            Param(cmd, "timeout", (long)o.TimeoutMs);
            Param(cmd, "oplock", (int)o.Oplock);
            Param(cmd, "lk", o.Lease?.Id.Key.ToString(), DbType.String);
            Param(cmd, "pos", o.Position);
            Param(cmd, "node", o.Node);
            Param(cmd, "disc", o.DisconnectedAtMs, DbType.Int64);
            Param(cmd, "lseq", o.LockSequences);
            await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        {
            var cmd = commands.Get("DELETE FROM byte_range_locks WHERE open_id = @id");
            Param(cmd, "id", unchecked((long)o.Id.Value));
            await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        for (var i = 0; i < o.Locks.Count; i++)
        {
            var range = o.Locks[i];
            var cmd = commands.Get("INSERT INTO byte_range_locks (open_id, seq, lock_offset, lock_length, exclusive) VALUES (@id, @seq, @off, @len, @ex)");
            Param(cmd, "id", unchecked((long)o.Id.Value));
            Param(cmd, "seq", i);
            Param(cmd, "off", unchecked((long)range.Offset));
            Param(cmd, "len", unchecked((long)range.Length));
            Param(cmd, "ex", range.Exclusive ? 1 : 0);
            await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
    }

    private static async Task DeleteAsync(StatementCache commands, OpenId id, CancellationToken ct)
    {
        foreach (var sql in (string[])["DELETE FROM byte_range_locks WHERE open_id = @id", "DELETE FROM opens WHERE open_id = @id"])
        {
            var cmd = commands.Get(sql);
            Param(cmd, "id", unchecked((long)id.Value));
            await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
    }

    /// <summary>Leases and sessions no open refers to any more.</summary>
    private static async Task DropOrphansAsync(StatementCache commands, CancellationToken ct)
    {
        string[] sql =
        [
            "DELETE FROM leases WHERE NOT EXISTS (SELECT 1 FROM opens o WHERE o.client_guid = leases.client_guid AND o.lease_key = leases.lease_key)",
            "DELETE FROM sessions WHERE NOT EXISTS (SELECT 1 FROM opens o WHERE o.session_id = sessions.session_id)",
        ];
        foreach (var s in sql) await commands.Get(s).ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<DurableOpenRecord>> LoadOpensAsync(string? node, CancellationToken ct)
    {
        await using var c = await OpenConnectionAsync(ct).ConfigureAwait(false);
        var locks = new Dictionary<long, List<LockRange>>();
        await using (var cmd = Command(c, null, "SELECT l.open_id, l.lock_offset, l.lock_length, l.exclusive FROM byte_range_locks l JOIN opens o ON o.open_id = l.open_id " +
            "WHERE (@node IS NULL OR o.node = @node) ORDER BY l.open_id, l.seq"))
        {
            Param(cmd, "node", node, DbType.String);
            await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await r.ReadAsync(ct).ConfigureAwait(false))
            {
                var id = r.GetInt64(0);
                if (!locks.TryGetValue(id, out var list)) locks[id] = list = [];
                list.Add(new LockRange(unchecked((ulong)r.GetInt64(1)), unchecked((ulong)r.GetInt64(2)), r.GetInt32(3) != 0));
            }
        }
        var result = new List<DurableOpenRecord>();
        await using (var cmd = Command(c, null,
            "SELECT o.open_id, o.share, o.file_id, o.path, o.client_guid, o.create_guid, o.app_instance_id, o.session_id, o.user_name, o.user_sid, o.access, o.share_access, " +
            "o.create_options, o.is_directory, o.delete_on_close, o.durable_version, o.persistent, o.timeout_ms, o.oplock, o.lease_key, o.position, o.node, o.disconnected_at, " +
            "l.state, l.epoch, l.version, l.parent_key, l.share, l.file_id, o.lock_sequences " +
            "FROM opens o LEFT JOIN leases l ON l.client_guid = o.client_guid AND l.lease_key = o.lease_key WHERE (@node IS NULL OR o.node = @node) ORDER BY o.open_id"))
        {
            Param(cmd, "node", node, DbType.String);
            await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await r.ReadAsync(ct).ConfigureAwait(false))
            {
                var id = r.GetInt64(0);
                var file = new FileKey(r.GetString(1), unchecked((ulong)r.GetInt64(2)));
                var clientGuid = Guid.Parse(r.GetString(4));
                LeaseRecord? lease = null;
                if (!r.IsDBNull(19) && !r.IsDBNull(23))
                    lease = new LeaseRecord(new LeaseId(clientGuid, Guid.Parse(r.GetString(19))),
                        new FileKey(r.GetString(27), unchecked((ulong)r.GetInt64(28))),
                        (LeaseState)r.GetInt32(23), (ushort)r.GetInt32(24), r.GetInt32(25), Guid.Parse(r.GetString(26)));
                result.Add(new DurableOpenRecord
                {
                    Id = new OpenId(unchecked((ulong)id)),
                    File = file,
                    Path = r.GetString(3),
                    ClientGuid = clientGuid,
                    CreateGuid = Guid.Parse(r.GetString(5)),
                    AppInstanceId = Guid.Parse(r.GetString(6)),
                    SessionId = unchecked((ulong)r.GetInt64(7)),
                    UserName = r.GetString(8),
                    UserSid = r.GetString(9),
                    Access = (AccessMask)(uint)r.GetInt64(10),
                    ShareAccess = (ShareAccess)r.GetInt32(11),
                    CreateOptions = (uint)r.GetInt64(12),
                    IsDirectory = r.GetInt32(13) != 0,
                    DeleteOnClose = r.GetInt32(14) != 0,
                    DurableVersion = r.GetInt32(15),
                    Persistent = r.GetInt32(16) != 0,
                    TimeoutMs = (uint)r.GetInt64(17),
                    Oplock = (byte)r.GetInt32(18),
                    Lease = lease,
                    Position = r.GetInt64(20),
                    Node = r.GetString(21),
                    DisconnectedAtMs = r.IsDBNull(22) ? null : r.GetInt64(22),
                    Locks = locks.TryGetValue(id, out var l) ? l : [],
                    LockSequences = r.GetString(29),
                });
            }
        }
        return result;
    }

    public Task<OpenLocation?> FindByCreateGuidAsync(Guid clientGuid, Guid createGuid, CancellationToken ct) =>
        FindOneAsync("SELECT open_id, share, file_id FROM opens WHERE client_guid = @a AND create_guid = @b", clientGuid.ToString(), createGuid.ToString(), ct);

    public Task<OpenLocation?> FindByAppInstanceAsync(Guid appInstanceId, CancellationToken ct) =>
        FindOneAsync("SELECT open_id, share, file_id FROM opens WHERE app_instance_id = @a AND @b = @b", appInstanceId.ToString(), "", ct);

    private async Task<OpenLocation?> FindOneAsync(string sql, string a, string b, CancellationToken ct)
    {
        await using var c = await OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var cmd = Command(c, null, sql);
        Param(cmd, "a", a);
        Param(cmd, "b", b);
        await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        if (!await r.ReadAsync(ct).ConfigureAwait(false)) return null;
        return new OpenLocation(new OpenId(unchecked((ulong)r.GetInt64(0))), new FileKey(r.GetString(1), unchecked((ulong)r.GetInt64(2))));
    }

    protected static DbCommand Command(DbConnection c, DbTransaction? tx, string sql)
    {
        var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = tx;
        return cmd;
    }

    /// <summary>A parameter; a null needs its type (PostgreSQL cannot infer the type of an untyped null).</summary>
    protected static void Param(DbCommand cmd, string name, object? value, DbType? nullType = null)
    {
        var p = cmd.CreateParameter();
        p.ParameterName = name;
        p.Value = value ?? DBNull.Value;
        if (nullType is { } t) p.DbType = t;
        cmd.Parameters.Add(p);
    }

    protected static async Task ExecAsync(DbConnection c, DbTransaction? tx, string sql, CancellationToken ct)
    {
        await using var cmd = Command(c, tx, sql);
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }
}
