using CaStorage.Cluster;
using CaStorage.State.Persistence;
using CaStorage.State.Tests.Persistence;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace CaStorage.Cluster.Tests;

/// <summary>Membership and shard ownership against a real PostgreSQL: nodes are separate connections in one process.</summary>
[Collection(PostgresCollection.Name)]
public sealed class MembershipTests(PostgresServer pg) : IAsyncLifetime
{
    private const int Shards = 64;
    private string _db = "";
    private readonly List<ClusterMembership> _nodes = [];

    public async Task InitializeAsync()
    {
        _db = await pg.NewDatabaseAsync();
        await using var store = new PostgresStateStore(_db);
        await store.MigrateAsync(default);
    }

    public async Task DisposeAsync()
    {
        foreach (var n in _nodes) await n.DisposeAsync();
    }

    private async Task<ClusterMembership> StartAsync(string id, TimeSpan? fence = null)
    {
        var m = new ClusterMembership(new ClusterNodeOptions
        {
            NodeId = id, ConnectionString = _db, ShardCount = Shards, PollInterval = TimeSpan.FromMilliseconds(50),
            FenceDeadline = fence ?? TimeSpan.FromSeconds(2),
        }, NullLogger.Instance);
        await m.StartAsync(default);
        _nodes.Add(m);
        return m;
    }

    private static async Task<bool> EventuallyAsync(Func<bool> condition, double seconds = 20)
    {
        var end = DateTime.UtcNow.AddSeconds(seconds);
        while (DateTime.UtcNow < end)
        {
            if (condition()) return true;
            await Task.Delay(25);
        }
        return condition();
    }

    private bool Partitioned(params ClusterMembership[] nodes)
    {
        var all = nodes.SelectMany(n => n.OwnedShards.Keys).ToList();
        return all.Count == Shards && all.Distinct().Count() == Shards;
    }

    [Fact]
    public async Task Three_nodes_split_the_shards_between_them()
    {
        var a = await StartAsync("a");
        var b = await StartAsync("b");
        var c = await StartAsync("c");
        // Every shard owned by exactly one node, each where rendezvous hashing over the three puts it.
        Assert.True(await EventuallyAsync(() => Partitioned(a, b, c)
            && new[] { a, b, c }.All(n => n.OwnedShards.Keys.All(s => ShardPlacement.OwnerOf(s, ["a", "b", "c"]) == n.NodeId))));
        foreach (var n in new[] { a, b, c })
            Assert.InRange(n.OwnedShards.Count, Shards / 6, Shards * 2 / 3); // roughly a third each
        Assert.All(a.View.Nodes, n => Assert.True(n.Live));
    }

    [Fact]
    public async Task A_dead_nodes_shards_are_taken_over_with_a_new_epoch()
    {
        var a = await StartAsync("a");
        var b = await StartAsync("b");
        Assert.True(await EventuallyAsync(() => Partitioned(a, b)));
        var lost = b.OwnedShards;
        var fenced = 0;
        b.Fenced = () => { Interlocked.Increment(ref fenced); return Task.CompletedTask; };
        await KillBackendAsync("b"); // as PostgreSQL sees a SIGKILLed node: its backend ends, its locks vanish
        Assert.True(await EventuallyAsync(() => a.OwnedShards.Count == Shards), "the survivor takes every shard");
        foreach (var (s, e) in lost)
        {
            Assert.True(a.Owns(s, out var epoch));
            Assert.True(epoch > e, $"shard {s}: epoch {epoch} after {e}");
        }
        // (It fences itself, then joins again as a new member once PostgreSQL answers: watch the event, not the state.)
        Assert.True(await EventuallyAsync(() => Volatile.Read(ref fenced) > 0), "the node that lost its store connection fences itself");
    }

    [Fact]
    public async Task A_hung_node_is_cut_off_and_stops_deciding_for_its_shards()
    {
        var a = await StartAsync("a", fence: TimeSpan.FromMilliseconds(500));
        var b = await StartAsync("b", fence: TimeSpan.FromMilliseconds(500));
        Assert.True(await EventuallyAsync(() => Partitioned(a, b) && b.OwnedShards.Count > 0));
        var shard = b.OwnedShards.Keys.First();
        await b.HangForTestAsync(); // its connection and locks stay; only its heartbeat stops
        Assert.True(await EventuallyAsync(() => !b.Owns(shard, out _), 5), "a stalled node no longer acts as owner after its deadline");
        Assert.True(await EventuallyAsync(() => a.OwnedShards.Count == Shards), "the others cut its backend off and take its shards");
        // Once Npgsql's keepalive (1 s) has seen the backend gone, the connection refuses commands: leaving still works.
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        _nodes.Remove(b);
        await b.DisposeAsync();
    }

    [Fact]
    public async Task A_round_stalled_past_the_deadline_does_not_make_the_node_current()
    {
        var a = await StartAsync("a", fence: TimeSpan.FromMilliseconds(500));
        Assert.True(await EventuallyAsync(() => a.OwnedShards.Count == Shards));
        await a.HangForTestAsync(); // rounds run only when the test asks
        var shard = a.OwnedShards.Keys.First();
        a.StallBeforeRoundEndForTest = () => Task.Delay(TimeSpan.FromMilliseconds(800)); // stopped after the last answer came
        await a.RoundAsync(default);
        Assert.False(a.IsCurrent, "what the round learned is older than the deadline by the time it ends");
        Assert.False(a.Owns(shard, out _));
        a.StallBeforeRoundEndForTest = null;
        await a.RoundAsync(default);
        Assert.True(a.IsCurrent, "a round that ends in time makes it current again");
        Assert.True(a.Owns(shard, out _));
    }

    [Fact]
    public async Task A_joining_node_gets_its_share_by_hand_off()
    {
        var a = await StartAsync("a");
        Assert.True(await EventuallyAsync(() => a.OwnedShards.Count == Shards));
        var b = await StartAsync("b");
        Assert.True(await EventuallyAsync(() => Partitioned(a, b) && b.OwnedShards.Count > 0));
        Assert.All(b.OwnedShards.Keys, s => Assert.Equal("b", ShardPlacement.OwnerOf(s, ["a", "b"])));
    }

    [Fact]
    public async Task A_draining_node_gives_all_its_shards_away()
    {
        var a = await StartAsync("a");
        var b = await StartAsync("b");
        Assert.True(await EventuallyAsync(() => Partitioned(a, b)));
        await b.DrainAsync(true, default);
        Assert.True(await EventuallyAsync(() => a.OwnedShards.Count == Shards && b.OwnedShards.Count == 0));
        await b.DrainAsync(false, default);
        Assert.True(await EventuallyAsync(() => Partitioned(a, b) && b.OwnedShards.Count > 0));
    }

    [Fact]
    public async Task New_files_are_placed_in_the_nodes_own_shards_and_none_while_it_drains()
    {
        var a = await StartAsync("a");
        var b = await StartAsync("b");
        Assert.True(await EventuallyAsync(() => Partitioned(a, b) && a.HomeShards.Length > 0 && b.HomeShards.Length > 0));
        foreach (var n in new[] { a, b })
            Assert.Equal(n.OwnedShards.Keys.Order(), n.HomeShards); // what it owns, in order
        Assert.Empty(a.HomeShards.Intersect(b.HomeShards));
        await b.DrainAsync(true, default);
        Assert.Empty(b.HomeShards); // at once: its shards are leaving
        Assert.True(await EventuallyAsync(() => a.HomeShards.Length == Shards));
        await b.DrainAsync(false, default);
        Assert.True(await EventuallyAsync(() => Partitioned(a, b) && b.HomeShards.Length > 0));
    }

    [Fact]
    public async Task Drain_requests_during_rounds_share_the_connection_safely()
    {
        // The admin API's drain and the membership loop use one connection; without turns Npgsql refuses the second
        // command ("a command is already in progress") and the admin call fails.
        var a = await StartAsync("a");
        for (var i = 0; i < 40; i++)
            await Task.WhenAll(a.RoundAsync(default), a.DrainAsync(i % 2 == 0, default), a.RoundAsync(default));
        await a.DrainAsync(false, default);
        Assert.True(await EventuallyAsync(() => a.OwnedShards.Count == Shards));
    }

    [Fact]
    public async Task A_node_id_in_use_is_refused()
    {
        await StartAsync("a");
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => StartAsync("a"));
        Assert.Contains("in use", ex.Message);
    }

    private async Task KillBackendAsync(string node)
    {
        await using var c = new NpgsqlConnection(_db);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = @a", c);
        cmd.Parameters.AddWithValue("a", $"castorage-membership-{node}");
        Assert.Equal(1L, await cmd.ExecuteScalarAsync());
    }
}
