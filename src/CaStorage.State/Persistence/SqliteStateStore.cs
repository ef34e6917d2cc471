using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace CaStorage.State.Persistence;

/// <summary>
/// The embedded store of a single node: one SQLite file under the data directory, WAL journal, synchronous=FULL so
/// a committed batch survives a crash of the process or the machine.
/// </summary>
public sealed class SqliteStateStore : SqlStateStore
{
    private static readonly Lazy<bool> Init = new(() => { SQLitePCL.Batteries_V2.Init(); return true; });
    private readonly string _connectionString;

    public SqliteStateStore(string path)
    {
        _ = Init.Value;
        Path = System.IO.Path.GetFullPath(path);
        _connectionString = new SqliteConnectionStringBuilder { DataSource = Path, Pooling = true, Cache = SqliteCacheMode.Private }.ToString();
    }

    public string Path { get; }
    public override string Kind => "sqlite";

    // One writer at a time is all SQLite allows anyway; its statements stay prepared between batches.
    protected override bool KeepsWriterConnection => true;

    protected override async ValueTask<DbConnection> OpenConnectionAsync(CancellationToken ct)
    {
        var c = new SqliteConnection(_connectionString);
        await c.OpenAsync(ct).ConfigureAwait(false);
        // Per connection: WAL persists in the file, the others do not.
        await ExecAsync(c, null, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=5000", ct).ConfigureAwait(false);
        return c;
    }

    public override async ValueTask DisposeAsync()
    {
        await DropWriterAsync().ConfigureAwait(false);
        SqliteConnection.ClearAllPools();
    }
}
