namespace CaStorage.Cluster.Tests;

public sealed class PeerWatchesTests
{
    [Fact]
    public void APeerNotHeardFrom_IsSentEveryChange()
    {
        var w = new PeerWatches();
        Assert.True(w.Wants("node2", "share"));
        w.Learn("node2", version: 0, ["other"]); // a peer that does not tell (version 0) changes nothing
        Assert.True(w.Wants("node2", "share"));
    }

    [Fact]
    public void APeerIsSentOnlyTheSharesItWatches_ANewerSetReplacesAnOlder()
    {
        var w = new PeerWatches();
        w.Learn("node2", 10, ["docs"]);
        Assert.True(w.Wants("node2", "DOCS"));
        Assert.False(w.Wants("node2", "share"));
        Assert.True(w.Wants("node3", "share"));

        w.Learn("node2", 12, ["share"]);
        Assert.True(w.Wants("node2", "share"));
        Assert.False(w.Wants("node2", "docs"));

        // An answer sent before the newer announcement, arriving after it, is ignored.
        w.Learn("node2", 11, ["docs"]);
        Assert.True(w.Wants("node2", "share"));
        Assert.False(w.Wants("node2", "docs"));
    }
}
