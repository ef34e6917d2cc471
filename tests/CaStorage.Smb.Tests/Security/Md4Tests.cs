using System.Text;
using CaStorage.Smb.Security;

namespace CaStorage.Smb.Tests.Security;

public sealed class Md4Tests
{
    // RFC 1320 appendix A.5 test suite.
    [Theory]
    [InlineData("", "31d6cfe0d16ae931b73c59d7e0c089c0")]
    [InlineData("a", "bde52cb31de33e46245e05fbdbd6fb24")]
    [InlineData("abc", "a448017aaf21d8525fc10ae87aa6729d")]
    [InlineData("message digest", "d9130a8164549fe818874806e1c7014b")]
    [InlineData("abcdefghijklmnopqrstuvwxyz", "d79e1c308aa5bbcdeea8ed63df412da9")]
    [InlineData("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "043f8582f241db351ce627e153e7f0e4")]
    [InlineData("12345678901234567890123456789012345678901234567890123456789012345678901234567890", "e33b4ddc9c38f2199c3e7b164fcc0536")]
    public void Hash_Rfc1320Vectors_Match(string input, string expectedHex)
    {
        Assert.Equal(expectedHex, Convert.ToHexStringLower(Md4.Hash(Encoding.ASCII.GetBytes(input))));
    }

    [Fact]
    public void Hash_PaddingBoundaries_DifferAndAreStable()
    {
        // Lengths around the 56-byte padding boundary exercise the one- and two-block tails.
        var seen = new HashSet<string>();
        for (int n = 50; n <= 130; n++)
        {
            var data = new byte[n];
            var h1 = Convert.ToHexString(Md4.Hash(data));
            var h2 = Convert.ToHexString(Md4.Hash(data));
            Assert.Equal(h1, h2);
            Assert.True(seen.Add(h1));
        }
    }

    [Fact]
    public void NtHash_Password_MatchesMsNlmp4_2_2_1_2()
    {
        // MS-NLMP 4.2.2.1.2 NTOWFv1("Password").
        Assert.Equal("a4f49c406510bdcab6824ee7c30fd852", Convert.ToHexStringLower(NtHash.FromPassword("Password")));
    }
}
