using CaStorage.Smb.Security;

namespace CaStorage.Smb.Tests.Security;

public sealed class Rc4Tests
{
    // RFC 6229 section 2: key-stream bytes at offsets 0, 16, 240, 256, 4096.
    [Theory]
    [InlineData("0102030405", 0, "b2396305f03dc027ccc3524a0a1118a8")]
    [InlineData("0102030405", 16, "6982944f18fc82d589c403a47a0d0919")]
    [InlineData("0102030405", 240, "28cb1132c96ce286421dcaadb8b69eae")]
    [InlineData("0102030405", 256, "1cfcf62b03eddb641d77dfcf7f8d8c93")]
    [InlineData("0102030405", 4096, "ff25b58995996707e51fbdf08b34d875")]
    [InlineData("01020304050607", 0, "293f02d47f37c9b633f2af5285feb46b")]
    [InlineData("01020304050607", 4096, "e74b0b9731227fd37c0ec08a47ddd8b8")]
    [InlineData("0102030405060708090a0b0c0d0e0f10", 0, "9ac7cc9a609d1ef7b2932899cde41b97")]
    [InlineData("0102030405060708090a0b0c0d0e0f10", 16, "5248c4959014126a6e8a84f11d1a9e1c")]
    [InlineData("0102030405060708090a0b0c0d0e0f10", 240, "065902e4b620f6cc36c8589f66432f2b")]
    [InlineData("0102030405060708090a0b0c0d0e0f10", 256, "d39d566bc6bce3010768151549f3873f")]
    [InlineData("0102030405060708090a0b0c0d0e0f10", 4096, "a36a4c301ae8ac13610ccbc12256cacc")]
    public void KeyStream_Rfc6229Vectors_Match(string keyHex, int offset, string expectedHex)
    {
        var rc4 = new Rc4(Convert.FromHexString(keyHex));
        var skip = new byte[offset];
        rc4.Transform(skip, skip);
        var block = new byte[16];
        rc4.Transform(block, block);
        Assert.Equal(expectedHex, Convert.ToHexStringLower(block));
    }

    [Fact]
    public void Transform_IsStatefulAcrossCalls_SameAsOneShot()
    {
        var key = Convert.FromHexString("0102030405060708090a0b0c0d0e0f10");
        var data = Enumerable.Range(0, 1000).Select(i => (byte)i).ToArray();
        var oneShot = Rc4.Apply(key, data);

        var rc4 = new Rc4(key);
        var pieces = new byte[data.Length];
        rc4.Transform(data.AsSpan(0, 7), pieces.AsSpan(0, 7));
        rc4.Transform(data.AsSpan(7, 500), pieces.AsSpan(7, 500));
        rc4.Transform(data.AsSpan(507), pieces.AsSpan(507));
        Assert.Equal(oneShot, pieces);

        // Decrypting with a fresh schedule restores the input.
        Assert.Equal(data, Rc4.Apply(key, oneShot));
    }

    [Fact]
    public void Constructor_EmptyKey_Throws()
    {
        Assert.Throws<ArgumentException>(() => new Rc4([]));
    }
}
