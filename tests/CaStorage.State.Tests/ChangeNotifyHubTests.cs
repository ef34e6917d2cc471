using CaStorage.State.Notify;

namespace CaStorage.State.Tests;

public sealed class ChangeNotifyHubTests
{
    [Fact]
    public async Task DirectoryBecomingDeletePending_EndsTheWaitsOnIt_Only()
    {
        // smb2.notify.rmdir1-4: Windows completes the watch of a delete-pending directory with STATUS_DELETE_PENDING.
        var hub = new ChangeNotifyHub();
        var dir = hub.Watch("share", "dir", recursive: false, NotifyFilter.FileName);
        var other = hub.Watch("share", "other", recursive: false, NotifyFilter.FileName);
        var waiting = dir.WaitAsync(default).AsTask();
        var otherWaiting = other.WaitAsync(default).AsTask();
        hub.DirectoryDeletePending("share", "\\dir");
        var batch = await waiting.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(batch.DeletePending);
        Assert.False(otherWaiting.IsCompleted);
        other.Dispose();
        dir.Dispose();
    }

    [Fact]
    public async Task TwoOutstandingWaits_AreAnsweredInOrder_NeitherIsLost()
    {
        // smb2.notify.double: two CHANGE_NOTIFY on one handle before any change (in a cluster the change comes from a
        // peer after both are posted). The first takes the first change, the second the next; closing ends the rest.
        var hub = new ChangeNotifyHub();
        var w = hub.Watch("share", "dir", recursive: true, NotifyFilter.DirName);
        var first = w.WaitAsync(default).AsTask();
        var second = w.WaitAsync(default).AsTask();
        hub.Deliver("share", "dir\\a", NotifyAction.Added, NotifyFilter.DirName);
        var one = await first.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal("a", Assert.Single(one.Events).Name);
        Assert.False(second.IsCompleted);
        hub.Deliver("share", "dir\\b", NotifyAction.Added, NotifyFilter.DirName);
        var two = await second.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal("b", Assert.Single(two.Events).Name);

        var third = w.WaitAsync(default).AsTask();
        var fourth = w.WaitAsync(default).AsTask();
        w.Dispose();
        Assert.True((await third.WaitAsync(TimeSpan.FromSeconds(5))).Closed);
        Assert.True((await fourth.WaitAsync(TimeSpan.FromSeconds(5))).Closed);
    }

    [Fact]
    public async Task ACancelledWait_LeavesItsPlace_ToTheNext()
    {
        var hub = new ChangeNotifyHub();
        var w = hub.Watch("share", "", recursive: false, NotifyFilter.FileName);
        using var cts = new CancellationTokenSource();
        var cancelled = w.WaitAsync(cts.Token).AsTask();
        var next = w.WaitAsync(default).AsTask();
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        hub.Deliver("share", "f", NotifyAction.Added, NotifyFilter.FileName);
        Assert.Equal("f", Assert.Single((await next.WaitAsync(TimeSpan.FromSeconds(5))).Events).Name);
        w.Dispose();
    }

    [Fact]
    public async Task AShareNewlyWatched_IsAnnounced_AndItsWaitsHoldUntilThePeersKnow()
    {
        // A cluster forwards a share's changes only to nodes that watch it: the first watch on a share tells the peers,
        // and the watch is answered pending only once they know; the last watch gone tells them again.
        var hub = new ChangeNotifyHub();
        var told = new List<(long Version, string[] Shares)>();
        var peersKnow = new TaskCompletionSource();
        hub.SharesWatchedChanged = (v, s) => { lock (told) told.Add((v, s)); return peersKnow.Task; };
        var first = hub.Watch("share", "dir", recursive: false, NotifyFilter.FileName);
        var second = hub.Watch("share", "other", recursive: false, NotifyFilter.FileName);
        Assert.Equal(["share"], Assert.Single(told).Shares);
        Assert.False(hub.WhenTold("share").IsCompleted);
        Assert.True(hub.WhenTold("elsewhere").IsCompleted);
        peersKnow.SetResult();
        await hub.WhenTold("share").WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(hub.SharesWatched.Version, told[0].Version);

        first.Dispose();
        Assert.Single(told);
        second.Dispose();
        Assert.Equal(2, told.Count);
        Assert.Empty(told[1].Shares);
        Assert.True(told[1].Version > told[0].Version);
        Assert.Empty(hub.SharesWatched.Shares);
    }

    [Fact]
    public async Task APeerThatCannotBeTold_DoesNotHoldTheWatch()
    {
        var hub = new ChangeNotifyHub { SharesWatchedChanged = (_, _) => Task.FromException(new IOException("peer gone")) };
        using var w = hub.Watch("share", "dir", recursive: false, NotifyFilter.FileName);
        await hub.WhenTold("share").WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task ADirectoryBecomingDeletePending_BeforeTheWaitIsPosted_EndsTheNextWait()
    {
        // In a cluster the peer's news can arrive between the watch being set up and its wait being posted.
        var hub = new ChangeNotifyHub();
        using var dir = hub.Watch("share", "dir", recursive: false, NotifyFilter.FileName);
        hub.DeliverDeletePending("share", "\\dir");
        var batch = await dir.WaitAsync(default).AsTask().WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(batch.DeletePending);
        var next = dir.WaitAsync(default).AsTask();
        await Task.Delay(50);
        Assert.False(next.IsCompleted); // told once, not for every later wait
        dir.Dispose();
        Assert.True((await next.WaitAsync(TimeSpan.FromSeconds(5))).Closed);
    }
}
