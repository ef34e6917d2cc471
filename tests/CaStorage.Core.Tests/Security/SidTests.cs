using CaStorage.Core.Security;

namespace CaStorage.Core.Tests.Security;

public sealed class SidTests
{
    [Theory]
    [InlineData("S-1-1-0", "010100000000000100000000")]
    [InlineData("S-1-5-32-544", "01020000000000052000000020020000")]
    [InlineData("S-1-5-21-1-2-3-1000", "010500000000000515000000010000000200000003000000E8030000")]
    public void StringAndBinaryForms_RoundTrip(string text, string hex)
    {
        var sid = Sid.Parse(text);
        Assert.Equal(text, sid.ToString());
        Assert.Equal(Convert.FromHexString(hex), sid.ToBytes());
        Assert.True(Sid.TryRead(Convert.FromHexString(hex + "FFFF"), out var read, out var length));
        Assert.Equal(sid, read);
        Assert.Equal(hex.Length / 2, length);
    }

    [Fact]
    public void LargeAuthority_IsWrittenInHex()
    {
        var sid = new Sid(0x1234_5678_9ABC, 7);
        Assert.Equal("S-1-0x123456789ABC-7", sid.ToString());
        Assert.Equal(sid, Sid.Parse(sid.ToString()));
    }

    [Theory]
    [InlineData("")]
    [InlineData("S-1")]
    [InlineData("S-2-5-32")]
    [InlineData("S-1-x-32")]
    [InlineData("S-1-5-4294967296")]
    [InlineData("S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15-16")]
    public void MalformedStrings_AreRefused(string text) => Assert.False(Sid.TryParse(text, out _));

    [Fact]
    public void TruncatedOrWrongRevision_IsRefused()
    {
        var bytes = Sid.Parse("S-1-5-21-1-2-3-1000").ToBytes();
        for (var i = 0; i < bytes.Length; i++) Assert.False(Sid.TryRead(bytes.AsSpan(0, i), out _, out _));
        bytes[0] = 2;
        Assert.False(Sid.TryRead(bytes, out _, out _));
    }

    [Fact]
    public void Equality_IsByValue()
    {
        Assert.Equal(Sid.Parse("S-1-5-32-545"), WellKnownSids.BuiltinUsers);
        Assert.True(Sid.Parse("S-1-5-32-545") == WellKnownSids.BuiltinUsers);
        Assert.NotEqual(WellKnownSids.BuiltinUsers, WellKnownSids.BuiltinAdministrators);
        Assert.Equal(WellKnownSids.BuiltinUsers.GetHashCode(), Sid.Parse("S-1-5-32-545").GetHashCode());
        var domain = Sid.Parse("S-1-5-21-1-2-3");
        Assert.True(domain.Append(1000).IsInDomain(domain));
        Assert.False(domain.IsInDomain(domain));
        Assert.Equal(1000u, domain.Append(1000).Rid);
    }
}
