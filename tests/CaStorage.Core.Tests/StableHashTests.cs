using CaStorage.Core;

namespace CaStorage.Core.Tests;

public sealed class StableHashTests
{
    [Theory]
    // FNV-1a 64 published vectors (Fowler/Noll/Vo test suite).
    [InlineData("", 0xcbf29ce484222325UL)]
    [InlineData("a", 0xaf63dc4c8601ec8cUL)]
    [InlineData("foobar", 0x85944171f73967e8UL)]
    public void Fnv1a64_MatchesPublishedVectors(string input, ulong expected)
        => Assert.Equal(expected, StableHash.Fnv1a64(System.Text.Encoding.ASCII.GetBytes(input)));

    [Fact]
    public void Shard_IsPinned_SoPlacementNeverChangesBetweenVersions()
    {
        // If these change, every cluster's shard placement changes: that must be a deliberate migration.
        Assert.Equal(StableHash.Of(new FileKey("share", 1)) % 256, (ulong)StableHash.Shard(new FileKey("share", 1), 256));
        // Computed independently (FNV-1a over "share", a zero separator, the id little-endian).
        Assert.Equal(0x3173636f96153542UL, StableHash.Of(new FileKey("share", 0x1234)));
        Assert.Equal(66, StableHash.Shard(new FileKey("share", 0x1234), 256));
        Assert.NotEqual(StableHash.Of(new FileKey("share", 1)), StableHash.Of(new FileKey("share", 2)));
        Assert.NotEqual(StableHash.Of(new FileKey("a", 1)), StableHash.Of(new FileKey("b", 1)));
    }

    [Theory]
    [InlineData("share")]
    [InlineData("Ünïcode-ß")]
    [InlineData("")]
    public void OfString_EqualsFnvOfItsUtf8Bytes(string text)
        => Assert.Equal(StableHash.Fnv1a64(System.Text.Encoding.UTF8.GetBytes(text)), StableHash.Of(text));

    [Fact]
    public void OfString_LongNames_TakeTheHeapPath_WithTheSameResult()
    {
        var text = new string('x', 5000);
        Assert.Equal(StableHash.Fnv1a64(System.Text.Encoding.UTF8.GetBytes(text)), StableHash.Of(text));
    }
}
