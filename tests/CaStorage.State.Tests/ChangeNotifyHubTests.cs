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
}
