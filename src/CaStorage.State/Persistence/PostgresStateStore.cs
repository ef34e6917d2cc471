using System.Data.Common;
using Npgsql;

namespace CaStorage.State.Persistence;

/// <summary>The shared store of a cluster: every node reads and writes the same PostgreSQL database.</summary>
public sealed class PostgresStateStore : SqlStateStore
{
    // Any constant: nodes starting together take turns migrating (transaction-level advisory lock).
    private const long MigrationLockKey = 0x4361_5374_6f72_0001;
    private readonly NpgsqlDataSource _source;

    public PostgresStateStore(string connectionString)
    {
        var b = new NpgsqlConnectionStringBuilder(connectionString);
        // Statements are few and repeated: let Npgsql prepare them (measured ~2x rows/s in batches, STACK.md).
        if (b.MaxAutoPrepare == 0) b.MaxAutoPrepare = 32;
        _source = NpgsqlDataSource.Create(b.ConnectionString);
    }

    public override string Kind => "postgresql";

    protected override async ValueTask<DbConnection> OpenConnectionAsync(CancellationToken ct) =>
        await _source.OpenConnectionAsync(ct).ConfigureAwait(false);

    protected override async Task LockForMigrationAsync(DbConnection c, DbTransaction tx, CancellationToken ct)
    {
        await using var cmd = Command(c, tx, "SELECT pg_advisory_xact_lock(@k)");
        Param(cmd, "k", MigrationLockKey);
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    public override ValueTask DisposeAsync() => _source.DisposeAsync();
}
