using CaStorage.Core;
using CaStorage.State.Persistence;
using Microsoft.Extensions.Logging.Abstractions;

namespace CaStorage.State.Tests.Persistence;

/// <summary>
/// One behaviour, two back ends: every test here runs against SQLite and against a real PostgreSQL.
/// </summary>
public abstract class StateStoreContract
{
    protected abstract Task<IStateStore> NewStoreAsync();

    private static readonly FileKey File = new("share", 0xFEED_0000_0000_0001);

    internal static DurableOpenRecord Record(ulong id, string node = "n1", LeaseRecord? lease = null, params LockRange[] locks) => new()
    {
        Id = new OpenId(id),
        File = File,
        Path = "dir\\file.txt",
        ClientGuid = Guid.Parse("11111111-2222-3333-4444-555555555555"),
        CreateGuid = Guid.NewGuid(),
        AppInstanceId = Guid.NewGuid(),
        SessionId = 0x8000_0000_0000_0042,
        UserName = "alice",
        UserSid = "S-1-5-21-1-2-3-1001",
        Access = AccessMask.FileReadData | AccessMask.FileWriteData,
        ShareAccess = ShareAccess.Read,
        CreateOptions = 0x40,
        DurableVersion = 2,
        Persistent = true,
        TimeoutMs = 60_000,
        Oplock = lease is null ? OplockLevel.Batch : OplockLevel.None,
        Lease = lease,
        Position = 4096,
        Node = node,
        DisconnectedAtMs = 1_700_000_000_000,
        Locks = locks,
        LockSequences = "FF01",
    };

    private static LeaseRecord Lease(Guid key) =>
        new(new LeaseId(Guid.Parse("11111111-2222-3333-4444-555555555555"), key), File, LeaseState.All, 7, 2, Guid.NewGuid());

    [Fact]
    public async Task Migrate_creates_the_current_schema_and_is_idempotent()
    {
        await using var store = await NewStoreAsync();
        Assert.Equal(0, await store.SchemaVersionAsync(default));
        await store.MigrateAsync(default);
        await store.MigrateAsync(default);
        Assert.Equal(StoreSchema.CurrentVersion, await store.SchemaVersionAsync(default));
    }

    [Fact]
    public async Task An_open_round_trips_with_its_locks_and_lease()
    {
        await using var store = await NewStoreAsync();
        await store.MigrateAsync(default);
        var lease = Lease(Guid.NewGuid());
        var rec = Record(0xF000_0000_0000_0001, lease: lease, locks: [new LockRange(0, 10, true), new LockRange(ulong.MaxValue - 5, 5, false)]);
        await store.ApplyAsync([new SaveOpen(rec)], default);

        var loaded = Assert.Single(await store.LoadOpensAsync(null, default));
        Assert.Equal(rec with { Locks = loaded.Locks }, loaded);
        Assert.Equal(rec.Locks, loaded.Locks);
        Assert.Equal(lease, loaded.Lease);
    }

    [Fact]
    public async Task Saving_again_replaces_the_open_and_its_locks()
    {
        await using var store = await NewStoreAsync();
        await store.MigrateAsync(default);
        var rec = Record(1, locks: [new LockRange(0, 10, true), new LockRange(20, 10, true)]);
        await store.ApplyAsync([new SaveOpen(rec), new SaveOpen(rec with { Position = 7, DisconnectedAtMs = null, Locks = [new LockRange(5, 1, false)] })], default);
        var loaded = Assert.Single(await store.LoadOpensAsync(null, default));
        Assert.Equal(7, loaded.Position);
        Assert.Null(loaded.DisconnectedAtMs);
        Assert.Equal([new LockRange(5, 1, false)], loaded.Locks);
    }

    /// <summary>
    /// Batch after batch (a back end may keep its statements between batches), and after a failed batch, every row
    /// gets its own values.
    /// </summary>
    [Fact]
    public async Task Consecutive_batches_keep_each_opens_values()
    {
        await using var store = await NewStoreAsync();
        await store.MigrateAsync(default);
        var lease = Lease(Guid.NewGuid());
        DurableOpenRecord[] first = [Record(1, "n1", lease, new LockRange(0, 1, true)), Record(2, "n2"), Record(3, "n1", null, new LockRange(9, 9, false), new LockRange(30, 1, true))];
        await store.ApplyAsync([.. first.Select(r => new SaveOpen(r))], default);
        await Assert.ThrowsAnyAsync<Exception>(() => store.ApplyAsync([new SaveOpen(Record(4)), new BogusMutation()], default));
        var second = first.Select((r, i) => r with { Position = 100 + i, Path = $"p{i}", SessionId = (ulong)(50 + i), DisconnectedAtMs = i == 1 ? null : 5 + i }).ToArray();
        await store.ApplyAsync([new SaveOpen(second[0]), new DeleteOpen(new OpenId(2))], default);
        await store.ApplyAsync([new SaveOpen(second[1]), new SaveOpen(second[2])], default);

        var loaded = (await store.LoadOpensAsync(null, default)).OrderBy(o => o.Id.Value).ToArray();
        Assert.Equal(3, loaded.Length);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(second[i] with { Locks = loaded[i].Locks }, loaded[i]);
            Assert.Equal(second[i].Locks, loaded[i].Locks);
        }
    }

    [Fact]
    public async Task A_shared_lease_row_lives_until_its_last_open_is_deleted()
    {
        await using var store = await NewStoreAsync();
        await store.MigrateAsync(default);
        var lease = Lease(Guid.NewGuid());
        await store.ApplyAsync([new SaveOpen(Record(1, lease: lease)), new SaveOpen(Record(2, lease: lease, locks: [new LockRange(0, 1, true)]))], default);
        await store.ApplyAsync([new DeleteOpen(new OpenId(2))], default);
        var left = Assert.Single(await store.LoadOpensAsync(null, default));
        Assert.Equal(lease, left.Lease);
        Assert.Empty(left.Locks);
        await store.ApplyAsync([new DeleteOpen(new OpenId(1))], default);
        Assert.Empty(await store.LoadOpensAsync(null, default));
        // The lease row went with the last open: a new open under the same key starts from its own state.
        await store.ApplyAsync([new SaveOpen(Record(3, lease: lease with { State = LeaseState.Read, Epoch = 1 }))], default);
        Assert.Equal(LeaseState.Read, Assert.Single(await store.LoadOpensAsync(null, default)).Lease!.State);
    }

    [Fact]
    public async Task Loading_by_node_returns_only_that_nodes_opens()
    {
        await using var store = await NewStoreAsync();
        await store.MigrateAsync(default);
        await store.ApplyAsync([new SaveOpen(Record(1, "n1")), new SaveOpen(Record(2, "n2")), new SaveOpen(Record(3, "n1"))], default);
        Assert.Equal([1UL, 3UL], (await store.LoadOpensAsync("n1", default)).Select(o => o.Id.Value));
        Assert.Equal(3, (await store.LoadOpensAsync(null, default)).Count);
    }

    [Fact]
    public async Task A_batch_is_all_or_nothing()
    {
        await using var store = await NewStoreAsync();
        await store.MigrateAsync(default);
        await Assert.ThrowsAnyAsync<Exception>(() => store.ApplyAsync([new SaveOpen(Record(1)), new BogusMutation()], default));
        Assert.Empty(await store.LoadOpensAsync(null, default));
    }

    [Fact]
    public async Task Group_commit_puts_concurrent_writes_into_fewer_transactions()
    {
        await using var store = await NewStoreAsync();
        await store.MigrateAsync(default);
        var writer = new StoreWriter(store, NullLogger.Instance);
        await using (writer)
        {
            var writes = Enumerable.Range(1, 300).Select(i => writer.Enqueue(new SaveOpen(Record((ulong)i)))).ToArray();
            await Task.WhenAll(writes);
            Assert.Equal(300, writer.Mutations);
            Assert.True(writer.Batches < 300, $"{writer.Batches} batches for 300 writes");
        }
        Assert.Equal(300, (await store.LoadOpensAsync(null, default)).Count);
    }

    /// <summary>
    /// The node dies after the store committed an open but before its reply left: the restarted node restores the
    /// open, and the client's replayed CREATE (same CreateGuid) finds it and reclaims it with its lock.
    /// </summary>
    [Fact]
    public async Task An_open_committed_before_a_crash_is_there_for_the_replayed_create()
    {
        await using var store = await NewStoreAsync();
        await store.MigrateAsync(default);
        var create = Guid.NewGuid();
        var client = Guid.NewGuid();
        var writer = new StoreWriter(store, NullLogger.Instance);
        var before = FileStateServices.CreateLocal(NullClientNotifier.Instance, TimeProvider.System, writer, "n1");
        var request = new OpenRequest
        {
            File = File, Open = new OpenId(0x1234), Access = AccessMask.FileWriteData, Share = ShareAccess.Read, Owner = "c1",
            Durable = new DurableRequest { Version = 2, TimeoutMs = 60_000, Persistent = true, CreateGuid = create, ClientGuid = client, UserSid = "S-1-5-21-1-2-3-1001", Path = "f" },
        };
        Assert.NotNull((await before.OpenAsync(request, default)).Durable);
        Assert.Equal(NtStatus.Success, await before.LockAsync(File, request.Open, [new LockRange(0, 8, true)], true, default));
        await writer.DisposeAsync(); // crash: no close, no disconnect, nothing more is written

        var writer2 = new StoreWriter(store, NullLogger.Instance);
        await using (writer2)
        {
            var after = FileStateServices.CreateLocal(NullClientNotifier.Instance, TimeProvider.System, writer2, "n1");
            Assert.Equal(1, await after.RestoreAsync(default));
            Assert.Equal(new OpenLocation(request.Open, File), await after.FindByCreateGuidAsync(client, create));
            var id = request.Open;
            var back = await after.ReconnectAsync(new ReconnectRequest
            {
                Open = id, Share = File.Share, Version = 2, CreateGuid = create, ClientGuid = client, UserSid = "S-1-5-21-1-2-3-1001", Path = "f", PersistentFlag = true, Owner = "c2",
            });
            Assert.Equal(NtStatus.Success, back.Status);
            Assert.Equal([new LockRange(0, 8, true)], back.Record!.Locks);
            // Nothing of a request that never reached the store: a second node id restores nothing.
            Assert.Equal(0, await FileStateServices.CreateLocal(NullClientNotifier.Instance, TimeProvider.System, writer2, "n2").RestoreAsync(default));
        }
    }

    private sealed record BogusMutation : StoreMutation;
}

public sealed class SqliteStateStoreTests : StateStoreContract, IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("castorage-sqlite-").FullName;

    protected override Task<IStateStore> NewStoreAsync() =>
        Task.FromResult<IStateStore>(new SqliteStateStore(Path.Combine(_dir, Guid.NewGuid().ToString("n") + ".db")));

    [Fact]
    public async Task A_newer_schema_is_refused()
    {
        var path = Path.Combine(_dir, "newer.db");
        await using (var store = new SqliteStateStore(path))
        {
            await store.MigrateAsync(default);
        }
        using (var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path}"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "INSERT INTO schema_version (version) VALUES (999)";
            cmd.ExecuteNonQuery();
        }
        await using var again = new SqliteStateStore(path);
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => again.MigrateAsync(default));
        Assert.Contains("999", ex.Message);
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }
}

[Collection(PostgresCollection.Name)]
public sealed class PostgresStateStoreTests(PostgresServer pg) : StateStoreContract
{
    protected override async Task<IStateStore> NewStoreAsync() => new PostgresStateStore(await pg.NewDatabaseAsync());

    [Fact]
    public async Task Nodes_starting_together_migrate_once()
    {
        var db = await pg.NewDatabaseAsync();
        var stores = Enumerable.Range(0, 4).Select(_ => new PostgresStateStore(db)).ToArray();
        await Task.WhenAll(stores.Select(s => s.MigrateAsync(default)));
        Assert.Equal(StoreSchema.CurrentVersion, await stores[0].SchemaVersionAsync(default));
        foreach (var s in stores) await s.DisposeAsync();
    }
}
