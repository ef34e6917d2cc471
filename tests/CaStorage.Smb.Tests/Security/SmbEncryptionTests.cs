using System.Buffers.Binary;
using System.Security.Cryptography;
using CaStorage.Smb.Security;

namespace CaStorage.Smb.Tests.Security;

/// <summary>
/// The transform codec (MS-SMB2 2.2.41, 3.1.4.3, 3.3.5.2.1.1) against the encrypted WRITE/READ exchanges published by
/// Microsoft's Open Specifications team: "Encryption in SMB 3.0: a protocol perspective" (AES-128-CCM, dialect 3.0)
/// and "SMB 3.1.1 Encryption in Windows 10" (appendix A.1 AES-128-GCM, A.2 AES-128-CCM). The blogs are written from
/// the client's side: its EncryptionKey is the server's ServerIn (decryption) key.
/// </summary>
public sealed class SmbEncryptionTests
{
    private static byte[] Hex(string s) => Convert.FromHexString(s.Replace(" ", "", StringComparison.Ordinal));

    /// <summary>One encrypted message of a blog exchange.</summary>
    public sealed record Vector(string Name, ushort Cipher, ulong SessionId, string Key, string Nonce, string Plain, string Transformed);

    // "Encryption in SMB 3.0: a protocol perspective": SessionKey B4546771B515F766A86735532DD6C4F0, SessionId 0x8e40014000011.
    private const string Smb30In = "261B72350558F2E9DCF613070383EDBF", Smb30Out = "8FE2B57EC34D2DB5B1A9727F526BBDB5";
    // "SMB 3.1.1 Encryption in Windows 10" A.1: SessionKey 419FDDF34C1E001909D362AE7FB6AF79, SessionId 0x100000000025.
    private const string Gcm311In = "A2F5E80E5D59103034F32E52F698E5EC", Gcm311Out = "748C50868C90F302962A5C35F5F9A8BF";
    // A.2: SessionKey 07B7F69C1E2581662DF6987E88F9E891, SessionId 0x100000000021.
    private const string Ccm311In = "DFAAA31AAE40A2485D47AC4DF09FDA1D", Ccm311Out = "95C544AEF6072680DA1CE49A68A97FA6";

    /// <summary>Requests (client to server, ServerIn key) and responses (server to client, ServerOut key).</summary>
    public static TheoryData<Vector> Requests => new()
    {
        new Vector("3.0 CCM WRITE request", 1, 0x8e40014000011, Smb30In, "66E69A111892584FB5ED52",
            "FE534D4240000100000000000900400008000000000000000400000000000000FFFE0000010000001100001400E4080000000000000000000000000000000000" +
            "3100700017000000000000000000000015010000390000020100000039020000" +
            "00000000000000007000000000000000536D623320656E6372797074696F6E2074657374696E67",
            "FD534D4281A286535415445DAE393921E44FA42E66E69A111892584FB5ED524A744DA3EE87000000000001001100001400E4080025C8FEE16605A437832D1CD5" +
            "2DA9F4645333482A175FE5384563F45FCDAFAEF38BC62BA4D5C62897996625A44C29BE5658DE2E6117585779E7B59FFD971278D08580D7FA899E410E910EABF5" +
            "AA1DB43050B33B49182637759AC15D84BFCDF5B6B238993C0F4CF4D6012023F6C627297075D84B7803912D0A9639634453595EF3E33FFE4E7AC2AB"),
        new Vector("3.0 CCM READ request", 1, 0x8e40014000011, Smb30In, "A5123A25F983E245983F41",
            "FE534D4240000100000000000800400008000000000000000500000000000000FFFE0000010000001100001400E4080000000000000000000000000000000000" +
            "3100000017000000000000000000000015010000390000020100000039020000" + "0000000000000000000000000000000000",
            "FD534D42E93601498B76D6F7A72D5EF9B6C79FAFA5123A25F983E245983F413B8B429AF271000000000001001100001400E408009A464F709AA663F8C2FC3907" +
            "D63CBF6F98B1E3DD649ED366009FD0B40A365224718E5440E053F6E01AE462FDB721BF91C3A6E52E14F9EFF005F445761289FF1272908B52754C8FCB949F228A" +
            "C104A66204289A205BCBC47509D04AF9A907002B96863358B3B7CBA5E377930074FCDF3550"),
        new Vector("3.1.1 GCM WRITE request", 2, 0x100000000025, Gcm311In, "C7D6822D269CAF48904C664C",
            "FE534D4240000100000000000900010008000000000000000500000000000000FFFE00000100000025000000001000000000000000000000000000000000000031007000170000000000000000000000" +
            "0600000004000000010000000400000000000000000000007000000000000000536D623320656E6372797074696F6E2074657374696E67",
            "FD534D42BD73D97D2BC9001BCAFAC0FDFF5FEEBCC7D6822D269CAF48904C664C00000000870000000000010025000000001000006ECDD2A7AFC7B47763057A041B8FD4DAFFE990B70C9E09D36C084E02" +
            "D14EF247F8BDE38ACF6256F8B1D3B56F77FBDEB312FEA5E92CBCC1ED8FB2EBBFAA75E49A4A394BB44576545567C24D4C014D47C9FBDFDAFD2C4F9B72F8D256452620A299F48E29E53D6B61D1C13A19E9" +
            "1AF013F00D17E3ABC2FC3D36C8C1B6B93973253852DBD442E46EE8"),
        new Vector("3.1.1 GCM READ request", 2, 0x100000000025, Gcm311In, "D7AA8C6D36859243B715E0A6",
            "FE534D4240000100000000000800010008000000000000000600000000000000FFFE00000100000025000000001000000000000000000000000000000000000031000000170000000000000000000000" +
            "060000000400000001000000040000000000000000000000000000000000000000",
            "FD534D426DAC0B6FD85A3ED42BB917DA38FE0386D7AA8C6D36859243B715E0A6000000007100000000000100250000000010000088A47BF09CA3C3141CDD7306BE9D9475AB24FCCB833D77461C041F8F" +
            "B983D0C188F0729272B31D9D3D0DC6B687C069EEE0CC8EACA2C536D019ACC9E185D1EB630E0FCB793EEECEB06D82A1D77706E700DBEBFB4FEB54D7AD2D97E7288804F90757FE4D08D6A84A3FF433E745" +
            "1E768E4699"),
        new Vector("3.1.1 CCM WRITE request", 1, 0x100000000021, Ccm311In, "9F6F1EAAD7E9F24AACD38F",
            "FE534D4240000100000000000900010008000000000000000500000000000000FFFE00000100000021000000001000000000000000000000000000000000000031007000170000000000000000000000" +
            "0500000004000000010000000400000000000000000000007000000000000000536D623320656E6372797074696F6E2074657374696E67",
            "FD534D42E89551D666DAB8993488F5A97103116C9F6F1EAAD7E9F24AACD38F00000000008700000000000100210000000010000056A74778199A9D2B6E9C3A376FD88D27680694FED253A313BEB07381" +
            "AE8689F973ACDB8D716E4477803BCE53A92E1B81FA3E965AD9AF2C89C08CE66A344664453B8FC88118EDC9814CF58E92AA465E6EFB09958A9FDAD96FBD55B36A710C30D5E7C64AD7B9449F9F17EDD024" +
            "FE8BA79154F340A82740D1D5180C69B0A2DE6A4BA893BD55D3210E"),
        new Vector("3.1.1 CCM READ request", 1, 0x100000000021, Ccm311In, "A0F92E964EDC3049B86E19",
            "FE534D4240000100000000000800010008000000000000000600000000000000FFFE00000100000021000000001000000000000000000000000000000000000031000000170000000000000000000000" +
            "050000000400000001000000040000000000000000000000000000000000000000",
            "FD534D4235BF9600C841F0CDA9BD1BC3727B7E36A0F92E964EDC3049B86E190000000000710000000000010021000000001000" +
            "00C4CCD3EB483A0638E69C99E391E7F64BCC10D6BEE46FEEA258C4BCAF792CB5A6E69283924081806DAB64827E9D14A5345D5221AB6DAFCB0E89FC2606B63D92163F4F6C93" +
            "D1213D86ABF123B93EAD3AEF9A3471EFD68A423A00A6E0064D9AE3C842EFFFAD236A3BF25D37F4CD054C97DE18"),
    };

    public static TheoryData<Vector> Responses => new()
    {
        new Vector("3.0 CCM WRITE response", 1, 0x8e40014000011, Smb30Out, "8600000000000000110000",
            "FE534D4240000100000000000900210009000000000000000400000000000000FFFE0000010000001100001400E408000000000000000000000000000000000011000000170000000000000000000000",
            "FD534D42A6015530A18F6D9AFFE22AFAE8E66484860000000000000011000014" +
            "00E4080050000000000001001100001400E40800DBF46435C5F14169293CE079E344479BF670227E49873F458672C3098DAC467DD5809F369D67409166515787" +
            "1483E01F7BECD02064EAC3E235F913668BBC2F097980D4B378F1993EFF6E60D177309E5B"),
        new Vector("3.0 CCM READ response", 1, 0x8e40014000011, Smb30Out, "8700000000000000110000",
            "FE534D4240000100000000000800210009000000000000000500000000000000FFFE0000010000001100001400E4080000000000000000000000000000000000" +
            "11005000170000000000000000000000536D623320656E6372797074696F6E2074657374696E67",
            "FD534D42ABD518B68C2F04D7879F482B689EB83F87000000000000001100001400E4080067000000000001001100001400E40800493D6FE2BDBEB435CF5F5469" +
            "70C7BB57BF20E713C75A3D045507E0D68E5C0346659D6FFB8AC1504A786CA2BB89C9E7FE4F313E910A04180D2D0EA7DF636329E5A3285984500EF86FE9D55DA4" +
            "FAB9531CFDD4C551D47F3C73124BB4590A45052B694048B991CCF5"),
        new Vector("3.1.1 GCM WRITE response", 2, 0x100000000025, Gcm311Out, "E06831DD2E8EB7B400000000",
            "FE534D4240000100000000000900010001000000000000000500000000000000FFFE00000100000025000000001000000000000000000000000000000000000011000000170000000000000000000000",
            "FD534D42ACBE1CB7ED343ADF1725EF144D90D4B0E06831DD2E8EB7B400000000000000005000000000000100250000000010000026BBBF949983A6C1C796559D0F2C510CB651D1F7B6AC8DED32A2A0B8" +
            "F2D793A815C6F6B848D69767A215841A42D400AE6DDB5F0B44173A014973321FDD7950DA6179159B82E03C9E18A050FF0EA1C967"),
        new Vector("3.1.1 GCM READ response", 2, 0x100000000025, Gcm311Out, "E16831DD2E8EB7B400000000",
            "FE534D4240000100000000000800010001000000000000000600000000000000FFFE00000100000025000000001000000000000000000000000000000000000011005000170000000000000000000000" +
            "536D623320656E6372797074696F6E2074657374696E67",
            "FD534D427F714B3B9D8FA1198584E71C2BAA1CB6E16831DD2E8EB7B4000000000000000067000000000001002500000000100000FECEDF4D03BB11A6CC5D8A53BE33D6D8701986342B4197D306E16F9C" +
            "BB218E92F7F8281F51CE68BB85A20D87DE90EBBF80538066D1C37513C0A58D70936D537B624F5500202A612B6CD30D448A82791A0B2E049ED512AFAEFB06E98AB3D6F931D7D50DB2DBD36A"),
        new Vector("3.1.1 CCM WRITE response", 1, 0x100000000021, Ccm311Out, "D96831DD2E8EB7B4000000",
            "FE534D4240000100000000000900010001000000000000000500000000000000FFFE00000100000021000000001000000000000000000000000000000000000011000000170000000000000000000000",
            "FD534D42DD33EC41A927DD51476FE887C2D3C136D96831DD2E8EB7B4000000000000000050000000000001002100000000100000F783157E0F6F1C055D746753CA16D20C21088E2A67564E056C2F68A7" +
            "F14F226C3BD809B7A2D52E5FE4ECF49821BC6001733430CF174E2764B3CCB213AAD8BB9FBAF6C15E13D9120965390E004A96A3F7"),
        new Vector("3.1.1 CCM READ response", 1, 0x100000000021, Ccm311Out, "DA6831DD2E8EB7B4000000",
            "FE534D4240000100000000000800010001000000000000000600000000000000FFFE00000100000021000000001000000000000000000000000000000000000011005000170000000000000000000000" +
            "536D623320656E6372797074696F6E2074657374696E67",
            "FD534D42E241A13C7E1EE42ECF1FD69F3B8668C6DA6831DD2E8EB7B4000000000000000067000000000001002100000000100000" +
            "15D67234FC8358D7BA1BF037ABC8EFD41A0A8F9BB04B16DEB1E85606BD8C2770823FE6239A286CB3E3D5762ABBD53FD8DE11ED491FE905E146A8FFCE09414AB741103D63" +
            "7E28B19C6BA759B399DCC21FAE24CF2A455A13B215FC2857ABB513927F9F271D1C208B"),
    };

    /// <summary>A codec whose outgoing key is <paramref name="outKey"/>; the other key is irrelevant for one direction.</summary>
    private static SmbTransformCodec Codec(Vector v, string outKey, string inKey) =>
        new(v.SessionId, (SmbCipher)v.Cipher, Hex(outKey), Hex(inKey));

    [Theory]
    [MemberData(nameof(Requests))]
    public void Server_DecryptsPublishedRequest(Vector v)
    {
        // Server view: the request came under ServerIn (the blog's client EncryptionKey).
        using var server = Codec(v, outKey: new string('0', v.Key.Length), inKey: v.Key);
        var transformed = Hex(v.Transformed);
        var plain = new byte[transformed.Length];
        Assert.True(server.TryDecrypt(transformed, plain, out var n), v.Name);
        Assert.Equal(v.Plain, Convert.ToHexString(plain, 0, n));
    }

    [Theory]
    [MemberData(nameof(Requests))]
    public void Client_EncryptsPublishedRequest(Vector v)
    {
        using var client = Codec(v, outKey: v.Key, inKey: new string('0', v.Key.Length));
        var plain = Hex(v.Plain);
        var transformed = new byte[SmbTransformCodec.TransformedLength(plain.Length)];
        // The whole Nonce field as sent: Windows 3.0 fills its reserved tail too, and it is authenticated.
        client.Encrypt(plain, Hex(v.Transformed).AsSpan(20, 16), transformed);
        Assert.Equal(v.Transformed, Convert.ToHexString(transformed));
    }

    [Theory]
    [MemberData(nameof(Responses))]
    public void Server_EncryptsPublishedResponse(Vector v)
    {
        using var server = Codec(v, outKey: v.Key, inKey: new string('0', v.Key.Length));
        var plain = Hex(v.Plain);
        var transformed = new byte[SmbTransformCodec.TransformedLength(plain.Length)];
        server.Encrypt(plain, Hex(v.Transformed).AsSpan(20, 16), transformed);
        Assert.StartsWith(v.Nonce, Convert.ToHexString(transformed, 20, 16), StringComparison.Ordinal);
        Assert.Equal(v.Transformed, Convert.ToHexString(transformed));
        if (Hex(v.Transformed).AsSpan(20 + v.Nonce.Length / 2, 16 - v.Nonce.Length / 2).IndexOfAnyExcept((byte)0) < 0)
        {
            // 3.1.1 leaves the tail zero, as this server does: the cipher nonce alone gives the same bytes.
            Array.Clear(transformed);
            server.Encrypt(plain, Hex(v.Nonce), transformed);
        }
        Assert.Equal(v.Transformed, Convert.ToHexString(transformed));
    }

    [Theory]
    [MemberData(nameof(Responses))]
    public void Client_DecryptsPublishedResponse(Vector v)
    {
        using var client = Codec(v, outKey: new string('0', v.Key.Length), inKey: v.Key);
        var transformed = Hex(v.Transformed);
        var plain = new byte[transformed.Length];
        Assert.True(client.TryDecrypt(transformed, plain, out var n), v.Name);
        Assert.Equal(v.Plain, Convert.ToHexString(plain, 0, n));
    }

    [Fact]
    public void Derive_Smb311CcmKeys_MatchEncryptionBlogAppendixA2()
    {
        var keys = SmbSessionKeys.Derive(SmbDialects.Smb311, Hex("07B7F69C1E2581662DF6987E88F9E891"), Hex(
            "DECF98A420718718F22090D3580FCC5E484BD310FA1268210C6E86335A8891E767F5BCD99FA5A785" +
            "9D665AD07A73EA94E1BCDB7CFA69A6962A28A244138340B1"), SmbCipher.Aes128Ccm);
        Assert.Equal(Ccm311In, Convert.ToHexString(keys.EncryptServerIn!));
        Assert.Equal(Ccm311Out, Convert.ToHexString(keys.EncryptServerOut!));
        Assert.Equal("3DCC82C5795AE27F383242761078C59B", Convert.ToHexString(keys.Signing));
    }

    public static TheoryData<ushort> AllCiphers => new() { 1, 2, 3, 4 };

    private static (SmbTransformCodec Client, SmbTransformCodec Server) Pair(SmbCipher cipher, ulong sessionId = 0x1122334455667788)
    {
        var size = SmbCiphers.KeySize(cipher);
        var c2s = RandomNumberGenerator.GetBytes(size);
        var s2c = RandomNumberGenerator.GetBytes(size);
        return (new SmbTransformCodec(sessionId, cipher, c2s, s2c), new SmbTransformCodec(sessionId, cipher, s2c, c2s));
    }

    private static byte[] Message(int length)
    {
        var m = new byte[length];
        for (var i = 0; i < m.Length; i++) m[i] = (byte)(i * 13 + 5);
        m[0] = 0xFE;
        m[1] = (byte)'S';
        m[2] = (byte)'M';
        m[3] = (byte)'B';
        return m;
    }

    [Theory]
    [MemberData(nameof(AllCiphers))]
    public void RoundTrip_BothDirections(ushort cipherId)
    {
        var cipher = (SmbCipher)cipherId;
        var (client, server) = Pair(cipher);
        using (client)
        using (server)
        {
            foreach (var length in new[] { 65, 64 + 49, 4096, 1024 * 1024 + 7 })
            {
                var message = Message(length);
                var wire = new byte[SmbTransformCodec.TransformedLength(length)];
                client.Encrypt(message, wire);
                Assert.Equal(0x424D53FDu, BinaryPrimitives.ReadUInt32LittleEndian(wire));
                Assert.Equal((uint)length, BinaryPrimitives.ReadUInt32LittleEndian(wire.AsSpan(36)));
                Assert.Equal((ushort)1, BinaryPrimitives.ReadUInt16LittleEndian(wire.AsSpan(42)));
                Assert.Equal(0x1122334455667788ul, BinaryPrimitives.ReadUInt64LittleEndian(wire.AsSpan(44)));
                // The unused tail of the 16-byte Nonce field is zero (AES_CCM_Nonce is 11 bytes, AES_GCM_Nonce 12).
                Assert.True(wire.AsSpan(20 + SmbCiphers.NonceSize(cipher), 16 - SmbCiphers.NonceSize(cipher)).IndexOfAnyExcept((byte)0) < 0);
                Assert.False(wire.AsSpan(52, Math.Min(64, length)).SequenceEqual(message.AsSpan(0, Math.Min(64, length))), "ciphertext equals plaintext");

                var plain = new byte[length];
                Assert.True(server.TryDecrypt(wire, plain, out var n));
                Assert.Equal(length, n);
                Assert.Equal(message, plain);

                // And back.
                server.Encrypt(message, wire);
                Assert.True(client.TryDecrypt(wire, plain, out n));
                Assert.Equal(message, plain);
            }
        }
    }

    [Theory]
    [MemberData(nameof(AllCiphers))]
    public void Decrypt_AnyTamperedByte_IsRejected(ushort cipherId)
    {
        var (client, server) = Pair((SmbCipher)cipherId);
        using (client)
        using (server)
        {
            var message = Message(64 + 57);
            var wire = new byte[SmbTransformCodec.TransformedLength(message.Length)];
            client.Encrypt(message, wire);
            var plain = new byte[wire.Length];
            for (var i = 0; i < wire.Length; i++)
            {
                wire[i] ^= 0x04;
                Assert.False(server.TryDecrypt(wire, plain, out _), $"flip at byte {i} went unnoticed");
                wire[i] ^= 0x04;
            }
            Assert.True(server.TryDecrypt(wire, plain, out _));
        }
    }

    [Theory]
    [MemberData(nameof(AllCiphers))]
    public void Decrypt_WrongKeyTruncatedOrWrongDirection_IsRejected(ushort cipherId)
    {
        var cipher = (SmbCipher)cipherId;
        var (client, server) = Pair(cipher);
        var (other, _) = Pair(cipher);
        using (client)
        using (server)
        using (other)
        {
            var message = Message(200);
            var wire = new byte[SmbTransformCodec.TransformedLength(message.Length)];
            client.Encrypt(message, wire);
            var plain = new byte[wire.Length];
            Assert.False(other.TryDecrypt(wire, plain, out _));
            // A client cannot read its own message back: the directions have separate keys.
            Assert.False(client.TryDecrypt(wire, plain, out _));
            Assert.False(server.TryDecrypt(wire.AsSpan(0, wire.Length - 1), plain, out _));
            Assert.False(server.TryDecrypt(wire.AsSpan(0, SmbTransformHeader.Size), plain, out _));
            Assert.False(server.TryDecrypt(wire.AsSpan(0, 20), plain, out _));
            Assert.False(server.TryDecrypt(wire, plain.AsSpan(0, 10), out _));
        }
    }

    [Theory]
    [MemberData(nameof(AllCiphers))]
    public void Encrypt_SameMessageTwice_UsesFreshNonces(ushort cipherId)
    {
        var (client, server) = Pair((SmbCipher)cipherId);
        using (client)
        using (server)
        {
            var message = Message(100);
            var nonces = new HashSet<string>();
            var wire = new byte[SmbTransformCodec.TransformedLength(message.Length)];
            string? previous = null;
            for (var i = 0; i < 1000; i++)
            {
                client.Encrypt(message, wire);
                Assert.True(nonces.Add(Convert.ToHexString(wire, 20, 16)), "nonce reused");
                var ct = Convert.ToHexString(wire, 52, 64);
                Assert.NotEqual(previous, ct);
                previous = ct;
            }
        }
    }

    [Fact]
    public void Codec_RejectsKeysOfTheWrongSize()
    {
        Assert.Throws<ArgumentException>(() => new SmbTransformCodec(1, SmbCipher.Aes256Gcm, new byte[16], new byte[16]));
        Assert.Throws<ArgumentException>(() => new SmbTransformCodec(1, SmbCipher.Aes128Ccm, new byte[32], new byte[32]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SmbTransformCodec(1, SmbCipher.None, new byte[16], new byte[16]));
    }

    [Theory]
    [InlineData(new ushort[] { 4, 3, 2, 1 }, 2)]
    [InlineData(new ushort[] { 1, 2 }, 2)]
    [InlineData(new ushort[] { 3, 1 }, 1)]
    [InlineData(new ushort[] { 3, 4 }, 4)]
    [InlineData(new ushort[] { 3 }, 3)]
    [InlineData(new ushort[] { 0, 5, 0xFFFF }, 0)]
    public void Choose_FollowsServerPreference(ushort[] offered, ushort expected)
    {
        Assert.Equal((SmbCipher)expected, SmbCiphers.Choose(offered));
    }

    [Fact]
    public void Derive_Aes256_CipherKeysAre256BitKdfOutput()
    {
        var sessionKey = Hex("419FDDF34C1E001909D362AE7FB6AF79");
        var preauth = RandomNumberGenerator.GetBytes(64);
        var k128 = SmbSessionKeys.Derive(SmbDialects.Smb311, sessionKey, preauth, SmbCipher.Aes128Gcm);
        var k256 = SmbSessionKeys.Derive(SmbDialects.Smb311, sessionKey, preauth, SmbCipher.Aes256Gcm);
        Assert.Equal(32, k256.EncryptServerIn!.Length);
        Assert.Equal(32, k256.EncryptServerOut!.Length);
        // SP800-108 counter mode with L = 256: one HMAC-SHA256 of 1 || label || 0x00 || context || 256, written out here.
        Assert.Equal(ManualKdf256(sessionKey, "SMBC2SCipherKey\0"u8, preauth), k256.EncryptServerIn);
        Assert.Equal(ManualKdf256(sessionKey, "SMBS2CCipherKey\0"u8, preauth), k256.EncryptServerOut);
        // L is part of the PRF input, so the 256-bit key does not start with the 128-bit one.
        Assert.NotEqual(k128.EncryptServerIn, k256.EncryptServerIn.AsSpan(0, 16).ToArray());
        // Signing and application keys stay 128-bit (Samba libcli/smb/smb2_signing.c).
        Assert.Equal(k128.Signing, k256.Signing);
        Assert.Equal(k128.Application, k256.Application);
    }

    private static byte[] ManualKdf256(byte[] key, ReadOnlySpan<byte> label, byte[] context)
    {
        var input = new List<byte> { 0, 0, 0, 1 };
        input.AddRange(label.ToArray());
        input.Add(0);
        input.AddRange(context);
        input.AddRange(new byte[] { 0, 0, 1, 0 });
        return HMACSHA256.HashData(key, input.ToArray());
    }
}
