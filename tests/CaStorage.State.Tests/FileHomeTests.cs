using CaStorage.Core;

namespace CaStorage.State.Tests;

public sealed class FileHomeTests
{
    [Fact]
    public void A_homed_key_routes_to_its_home_and_its_opens_carry_it()
    {
        var raw = new FileKey("ca", 0x1234_5678);
        var hashed = OpenId.ShardOf(raw);
        foreach (var shard in new[] { 0, 1, 77, 255 })
        {
            var key = FileHome.With(raw, shard);
            Assert.True(FileHome.TryGet(key, out var home));
            Assert.Equal(shard, home);
            Assert.Equal(shard, OpenId.ShardOf(key));
            Assert.Equal(shard, OpenId.New(key).Shard); // a reconnect finds the owner from the open's id alone
            Assert.True(FileHome.Names(key, raw.FileId));
            Assert.False(FileHome.Names(key, raw.FileId + 1));
            Assert.Equal(key, FileHome.With(raw, shard)); // every node builds the same key
        }
        Assert.False(FileHome.TryGet(raw, out _));
        Assert.Equal(hashed, OpenId.ShardOf(raw)); // a key without a home hashes as before
        Assert.NotEqual(FileHome.With(raw, 1), FileHome.With(raw, 2));
    }

    [Fact]
    public void The_id_keeps_55_bits_and_a_home_outside_the_shards_is_refused()
    {
        var big = new FileKey("s", ulong.MaxValue);
        var key = FileHome.With(big, 3);
        Assert.True(FileHome.Names(key, ulong.MaxValue));
        Assert.Equal(3, OpenId.ShardOf(key));
        Assert.Throws<ArgumentOutOfRangeException>(() => FileHome.With(big, OpenId.ShardCount));
        Assert.Throws<ArgumentOutOfRangeException>(() => FileHome.With(big, -1));
    }
}
