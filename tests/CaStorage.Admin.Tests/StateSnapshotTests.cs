using CaStorage.Core;
using CaStorage.State;
using CaStorage.State.Inspection;

namespace CaStorage.Admin.Tests;

/// <summary>The file actors' snapshot message (what ListLocks/ListLeases read).</summary>
public sealed class StateSnapshotTests
{
    [Fact]
    public async Task Snapshot_HasOpensLocksAndLeases_AndForgetsClosedFiles()
    {
        var f = new AdminFixture();
        await f.OpenFileAsync();
        var inspector = (IFileStateInspector)f.State;
        var file = Assert.Single(await inspector.SnapshotAsync(default));
        Assert.Equal(AdminFixture.File, file.File);
        Assert.Equal(2, file.Opens.Count);
        Assert.Equal(2, file.Locks.Count);
        var lease = Assert.Single(file.Leases);
        Assert.Equal(LeaseState.ReadHandle, lease.State);
        Assert.Null(lease.BreakingTo);

        await f.State.CloseAsync(AdminFixture.File, AdminFixture.OpenA);
        await f.State.CloseAsync(AdminFixture.File, AdminFixture.OpenB);
        Assert.Empty(await inspector.SnapshotAsync(default));
    }

    [Fact]
    public void SingleNode_OwnsAllShards()
    {
        var inspector = (IFileStateInspector)FileStateServices.CreateLocal(16);
        Assert.Equal(16, inspector.ShardCount);
        Assert.Equal(Enumerable.Range(0, 16), inspector.OwnedShards);
    }
}
