using System.Buffers.Binary;
using CaStorage.Smb.Security;

namespace CaStorage.Smb.Tests.Security;

public sealed class SmbSigningTests
{
    private static readonly byte[] Key = Enumerable.Range(0x10, 16).Select(i => (byte)i).ToArray();

    /// <summary>A deterministic "SMB2 message": m[i] = i*31+7 with header fields patched in and a zero signature.</summary>
    private static byte[] Message(int length, ushort command, uint flags, ulong messageId)
    {
        var m = new byte[length];
        for (int i = 0; i < length; i++)
        {
            m[i] = (byte)(i * 31 + 7);
        }

        m[0] = 0xFE;
        m[1] = (byte)'S';
        m[2] = (byte)'M';
        m[3] = (byte)'B';
        BinaryPrimitives.WriteUInt16LittleEndian(m.AsSpan(12), command);
        BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(16), flags);
        BinaryPrimitives.WriteUInt64LittleEndian(m.AsSpan(24), messageId);
        m.AsSpan(48, 16).Clear();
        return m;
    }

    // Expected signatures from an independent implementation (Python hmac/hashlib and
    // pycryptodome CMAC and AES-GCM with nonce = MessageId || role bits per MS-SMB2 3.1.4.1).
    public static TheoryData<int, ushort, uint, ulong, string, string, string> Vectors => new()
    {
        // length, command, flags, messageId, HMAC-SHA256[0..16], AES-CMAC, AES-GMAC
        { 64, 0x0008, 0x8, 5, "0734127c33d5de65c99eb1da551bcf6a", "0a8e429a7dd7879b29d45ff60cdb4cba", "696b4effa8ba7f18aa1f2aa38d850461" },
        { 200, 0x0008, 0x9, 0x1122334455667788, "457760b0cd22cd86dce8ac6b786b4028", "4d7aa1e8cea646ce251453128d025c9e", "4739819fe751cbb08594be5735e9eb45" },
        { 100, 0x000C, 0x8, 42, "233f642457828769c5edbecfe0aeb137", "605a995be99e783947937b120aebe64a", "4d761d91e01f6b5ecf20cd1b37f1e52d" },
        { 65600, 0x0008, 0x8, 3, "7ff5d2bcb43629e9d001e0a7ae743385", "52e256ed2fca3095cf0c7def2b718f71", "3a4e2b04a9f6fce26293e751dbfc5360" },
        { 1048583, 0x0009, 0x9, 77, "9b6ea436d9d4e8cf8592649d0cf1f424", "34e3b69497808e810df62d1ac9c8bf66", "33229a88619953aedc5ba8641931d2ba" },
    };

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Sign_MatchesReferenceAndVerifies(int length, ushort command, uint flags, ulong messageId, string hmac, string cmac, string gmac)
    {
        foreach (var (alg, expected) in new[] { (SigningAlgorithm.HmacSha256, hmac), (SigningAlgorithm.AesCmac, cmac), (SigningAlgorithm.AesGmac, gmac) })
        {
            var message = Message(length, command, flags, messageId);
            // Garbage in the signature field must be ignored by Sign.
            message.AsSpan(48, 16).Fill(0xAA);
            SmbSigning.Sign(alg, Key, message);
            Assert.Equal(expected, Convert.ToHexStringLower(message.AsSpan(48, 16)));
            Assert.True(SmbSigning.Verify(alg, Key, message), alg.ToString());
        }
    }

    [Theory]
    [InlineData("HmacSha256")]
    [InlineData("AesCmac")]
    [InlineData("AesGmac")]
    public void Verify_DoesNotModifyMessage(string algorithm)
    {
        var alg = Enum.Parse<SigningAlgorithm>(algorithm);
        var message = Message(300, 0x0005, 0x8, 9);
        SmbSigning.Sign(alg, Key, message);
        var copy = (byte[])message.Clone();
        Assert.True(SmbSigning.Verify(alg, Key, message));
        Assert.Equal(copy, message);
    }

    [Theory]
    [InlineData("HmacSha256")]
    [InlineData("AesCmac")]
    [InlineData("AesGmac")]
    public void Verify_AnyTamperedByte_Fails(string algorithm)
    {
        var alg = Enum.Parse<SigningAlgorithm>(algorithm);
        var message = Message(150, 0x0008, 0x8, 11);
        SmbSigning.Sign(alg, Key, message);
        using var signer = new SmbSigner(alg, Key);
        for (int i = 0; i < message.Length; i++)
        {
            message[i] ^= 0x01;
            Assert.False(signer.Verify(message), $"{alg}: flip at {i} went unnoticed");
            message[i] ^= 0x01;
        }

        Assert.True(signer.Verify(message));
    }

    [Theory]
    [InlineData("HmacSha256")]
    [InlineData("AesCmac")]
    [InlineData("AesGmac")]
    public void Verify_WrongKey_Fails(string algorithm)
    {
        var alg = Enum.Parse<SigningAlgorithm>(algorithm);
        var message = Message(80, 0x0008, 0x8, 1);
        SmbSigning.Sign(alg, Key, message);
        var other = (byte[])Key.Clone();
        other[0] ^= 0x80;
        Assert.False(SmbSigning.Verify(alg, other, message));
    }

    [Theory]
    [InlineData("HmacSha256")]
    [InlineData("AesCmac")]
    [InlineData("AesGmac")]
    public void Signer_ReusedAcrossMessages_MatchesOneShot(string algorithm)
    {
        var alg = Enum.Parse<SigningAlgorithm>(algorithm);
        using var signer = new SmbSigner(alg, Key);
        for (int i = 0; i < 5; i++)
        {
            var a = Message(64 + (i * 37), 0x0008, 0x8, (ulong)i);
            var b = (byte[])a.Clone();
            signer.Sign(a);
            SmbSigning.Sign(alg, Key, b);
            Assert.Equal(b, a);
            Assert.True(signer.Verify(b));
        }
    }

    [Fact]
    public void Verify_ShortMessage_ReturnsFalse()
    {
        Assert.False(SmbSigning.Verify(SigningAlgorithm.AesCmac, Key, new byte[63]));
    }

    [Fact]
    public void GmacNonce_EncodesDirectionAndCancel()
    {
        Span<byte> nonce = stackalloc byte[12];

        SmbSigning.BuildGmacNonce(Message(64, 0x0008, 0x8, 0x0102030405060708), nonce);
        Assert.Equal("080706050403020100000000", Convert.ToHexStringLower(nonce));

        SmbSigning.BuildGmacNonce(Message(64, 0x0008, 0x9, 7), nonce);
        Assert.Equal("070000000000000001000000", Convert.ToHexStringLower(nonce));

        SmbSigning.BuildGmacNonce(Message(64, 0x000C, 0x8, 7), nonce);
        Assert.Equal("070000000000000002000000", Convert.ToHexStringLower(nonce));
    }

    [Fact]
    public void Gmac_SameBytesDifferentDirection_DifferentSignature()
    {
        var request = Message(100, 0x0008, 0x8, 5);
        var response = Message(100, 0x0008, 0x8, 5);
        SmbSigning.Sign(SigningAlgorithm.AesGmac, Key, request);
        SmbSigning.Sign(SigningAlgorithm.AesGmac, Key, response);
        Assert.Equal(request, response);

        // Flipping only the server-to-redirector bit changes both AAD and nonce.
        var flipped = Message(100, 0x0008, 0x9, 5);
        SmbSigning.Sign(SigningAlgorithm.AesGmac, Key, flipped);
        Assert.NotEqual(request.AsSpan(48, 16).ToArray(), flipped.AsSpan(48, 16).ToArray());
    }
}
