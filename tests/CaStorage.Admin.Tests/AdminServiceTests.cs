using CaStorage.Admin.V1;
using CaStorage.Rpc;
using CaStorage.Rpc.Services;
using Grpc.Health.V1;

namespace CaStorage.Admin.Tests;

/// <summary>The admin API over the wire: lists joined from the wire layer and the file actors, actions, errors, auth.</summary>
public sealed class AdminServiceTests
{
    private static Task<TResponse> Call<TRequest, TResponse>(GrpcClient client, string method, TRequest request)
        where TRequest : Google.Protobuf.IMessage<TRequest>
        where TResponse : Google.Protobuf.IMessage<TResponse> =>
        client.UnaryAsync<TRequest, TResponse>(AdminService.Method(method), request);

    [Fact]
    public async Task ListNodes_SingleNode_OwnsEveryShard()
    {
        var f = new AdminFixture();
        await using var host = await f.StartAsync();
        using var client = host.Client();
        var r = await Call<ListNodesRequest, ListNodesResponse>(client, "ListNodes", new());
        var node = Assert.Single(r.Nodes);
        Assert.Equal("node-1", node.Id);
        Assert.Equal("up", node.State);
        Assert.Equal(256u, r.ShardCount);
        Assert.Equal(Enumerable.Range(0, 256).Select(i => (uint)i), node.OwnedShards);
    }

    [Fact]
    public async Task ListOpens_JoinsSharingAndLeaseStateFromTheFileActor()
    {
        var f = new AdminFixture();
        await f.OpenFileAsync();
        await using var host = await f.StartAsync();
        using var client = host.Client();
        var r = await Call<ListOpensRequest, ListOpensResponse>(client, "ListOpens", new());
        Assert.Equal(2, r.Opens.Count);
        var a = r.Opens.Single(o => o.PersistentId == AdminFixture.OpenA.Value);
        Assert.Equal(3u, a.ShareAccess);               // FILE_SHARE_READ | FILE_SHARE_WRITE, from the actor
        Assert.Equal("none", a.Oplock);
        Assert.Equal("dir/a.txt", a.Path);
        Assert.Equal("node-1", a.OwnerNode);
        var b = r.Opens.Single(o => o.PersistentId == AdminFixture.OpenB.Value);
        Assert.Equal("lease", b.Oplock);
        Assert.Equal("RH", b.LeaseState);
        Assert.Equal(Convert.ToHexStringLower(AdminFixture.LeaseB.Key.ToByteArray()), b.LeaseKey);

        var filtered = await Call<ListOpensRequest, ListOpensResponse>(client, "ListOpens", new ListOpensRequest { SessionId = 2 });
        Assert.Equal(AdminFixture.OpenB.Value, Assert.Single(filtered.Opens).PersistentId);
    }

    [Fact]
    public async Task ListLocksAndLeases_ComeFromTheFileActor()
    {
        var f = new AdminFixture();
        await f.OpenFileAsync();
        await using var host = await f.StartAsync();
        using var client = host.Client();
        var locks = await Call<ListLocksRequest, ListLocksResponse>(client, "ListLocks", new());
        Assert.Equal(2, locks.Locks.Count);
        Assert.All(locks.Locks, l => Assert.Equal(AdminFixture.OpenA.Value, l.PersistentId));
        Assert.Contains(locks.Locks, l => l.Offset == 0 && l.Length == 10 && l.Exclusive && l.Path == "dir/a.txt" && l.SessionId == 1);
        Assert.Contains(locks.Locks, l => l.Offset == 100 && l.Length == 5 && !l.Exclusive);

        var leases = await Call<ListLeasesRequest, ListLeasesResponse>(client, "ListLeases", new());
        var lease = Assert.Single(leases.Leases);
        Assert.Equal("RH", lease.State);
        Assert.Equal(2u, lease.Version);
        Assert.Equal(1u, lease.OpenCount);
        Assert.Equal("dir/a.txt", lease.Path);
        Assert.False(lease.Breaking);
    }

    [Fact]
    public async Task CloseOpen_ReleasesItsLocks_AndAMissingOpenIsNotFound()
    {
        var f = new AdminFixture();
        await f.OpenFileAsync();
        await using var host = await f.StartAsync();
        using var client = host.Client();
        var r = await Call<CloseOpenRequest, CloseOpenResponse>(client, "CloseOpen", new CloseOpenRequest { PersistentId = AdminFixture.OpenA.Value });
        Assert.Equal("dir/a.txt", r.Path);
        Assert.Empty((await Call<ListLocksRequest, ListLocksResponse>(client, "ListLocks", new())).Locks);

        var again = await Assert.ThrowsAsync<RpcException>(() => Call<CloseOpenRequest, CloseOpenResponse>(client, "CloseOpen", new CloseOpenRequest { PersistentId = AdminFixture.OpenA.Value }));
        Assert.Equal(RpcStatusCode.NotFound, again.Status);
        var zero = await Assert.ThrowsAsync<RpcException>(() => Call<CloseOpenRequest, CloseOpenResponse>(client, "CloseOpen", new CloseOpenRequest()));
        Assert.Equal(RpcStatusCode.InvalidArgument, zero.Status);
    }

    [Fact]
    public async Task Logoff_UnknownSessionIsNotFound()
    {
        var f = new AdminFixture();
        await using var host = await f.StartAsync();
        using var client = host.Client();
        var ex = await Assert.ThrowsAsync<RpcException>(() => Call<LogoffRequest, LogoffResponse>(client, "Logoff", new LogoffRequest { SessionId = 99 }));
        Assert.Equal(RpcStatusCode.NotFound, ex.Status);
    }

    [Fact]
    public async Task Drain_RefusesNewClientsAndTurnsHealthNotServing_CancelUndoesIt()
    {
        var f = new AdminFixture();
        await using var host = await f.StartAsync();
        using var client = host.Client();
        var r = await Call<DrainRequest, DrainResponse>(client, "Drain", new DrainRequest());
        Assert.True(r.Draining);
        Assert.True(f.Sessions.Draining);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing,
            (await client.UnaryAsync<HealthCheckRequest, HealthCheckResponse>(HealthService.CheckMethod, new HealthCheckRequest())).Status);
        Assert.Equal("draining", (await Call<ListNodesRequest, ListNodesResponse>(client, "ListNodes", new())).Nodes[0].State);

        await Call<DrainRequest, DrainResponse>(client, "Drain", new DrainRequest { Node = "node-1", Cancel = true });
        Assert.False(f.Sessions.Draining);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving,
            (await client.UnaryAsync<HealthCheckRequest, HealthCheckResponse>(HealthService.CheckMethod, new HealthCheckRequest())).Status);

        var other = await Assert.ThrowsAsync<RpcException>(() => Call<DrainRequest, DrainResponse>(client, "Drain", new DrainRequest { Node = "node-9" }));
        Assert.Equal(RpcStatusCode.NotFound, other.Status);
    }

    [Fact]
    public async Task ShareErrors_MapToGrpcStatuses()
    {
        var f = new AdminFixture();
        await using var host = await f.StartAsync();
        using var client = host.Client();
        var share = new Share { Name = "x", Path = "/tmp/x", Vfs = { "bogus" } };
        var invalid = await Assert.ThrowsAsync<RpcException>(() => Call<AddShareRequest, ShareResponse>(client, "AddShare", new AddShareRequest { Share = share }));
        Assert.Equal(RpcStatusCode.InvalidArgument, invalid.Status);
        Assert.Contains("bogus", invalid.Message);
        var missing = await Assert.ThrowsAsync<RpcException>(() => Call<SetShareRequest, ShareResponse>(client, "SetShare", new SetShareRequest { Share = share }));
        Assert.Equal(RpcStatusCode.NotFound, missing.Status);
        var noShare = await Assert.ThrowsAsync<RpcException>(() => Call<AddShareRequest, ShareResponse>(client, "AddShare", new AddShareRequest()));
        Assert.Equal(RpcStatusCode.InvalidArgument, noShare.Status);
        Assert.Equal("share", Assert.Single((await Call<ListSharesRequest, ListSharesResponse>(client, "ListShares", new())).Shares).Name);
    }

    [Fact]
    public async Task Token_IsRequiredForAdminCallsButNotForHealth()
    {
        var f = new AdminFixture();
        await using var host = await f.StartAsync(new AdminAuthorizer("s3cret"));
        using var anonymous = host.Client();
        var ex = await Assert.ThrowsAsync<RpcException>(() => Call<ListNodesRequest, ListNodesResponse>(anonymous, "ListNodes", new()));
        Assert.Equal(RpcStatusCode.Unauthenticated, ex.Status);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving,
            (await anonymous.UnaryAsync<HealthCheckRequest, HealthCheckResponse>(HealthService.CheckMethod, new HealthCheckRequest())).Status);

        using var wrong = host.Client("s3cret!");
        Assert.Equal(RpcStatusCode.Unauthenticated, (await Assert.ThrowsAsync<RpcException>(() => Call<ListNodesRequest, ListNodesResponse>(wrong, "ListNodes", new()))).Status);

        using var right = host.Client("s3cret");
        Assert.Single((await Call<ListNodesRequest, ListNodesResponse>(right, "ListNodes", new())).Nodes);
    }

    [Theory]
    [InlineData(null, true)]
    [InlineData("Bearer s3cret", true)]
    [InlineData("bearer s3cret", true)]
    [InlineData("Bearer s3cre", false)]
    [InlineData("Bearer s3cret ", true)]
    [InlineData("Basic s3cret", false)]
    [InlineData("s3cret", false)]
    public void Authorizer_ChecksTheBearerToken(string? header, bool valid)
    {
        var auth = new AdminAuthorizer("s3cret");
        Assert.Equal(header is not null && valid, auth.IsValid(header));
        Assert.True(new AdminAuthorizer(null).IsValid(header));
    }
}
