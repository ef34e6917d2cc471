namespace CaStorage.Smb.Security;

/// <summary>
/// RC4 stream cipher. Stateful: successive <see cref="Transform"/> calls continue the key
/// stream, as NTLM's sealing handles require (MS-NLMP 3.4.3, 3.4.4.2). Used only for NTLM
/// key exchange and NTLMSSP signatures.
/// </summary>
internal sealed class Rc4
{
    private readonly byte[] _s = new byte[256];
    private byte _i;
    private byte _j;

    public Rc4(ReadOnlySpan<byte> key)
    {
        if (key.IsEmpty || key.Length > 256)
        {
            throw new ArgumentException("RC4 key must be 1..256 bytes.", nameof(key));
        }

        for (int i = 0; i < 256; i++)
        {
            _s[i] = (byte)i;
        }

        byte j = 0;
        for (int i = 0; i < 256; i++)
        {
            j = (byte)(j + _s[i] + key[i % key.Length]);
            (_s[i], _s[j]) = (_s[j], _s[i]);
        }
    }

    /// <summary>XORs <paramref name="input"/> with the next key-stream bytes into <paramref name="output"/> (may be the same memory).</summary>
    public void Transform(ReadOnlySpan<byte> input, Span<byte> output)
    {
        if (output.Length < input.Length)
        {
            throw new ArgumentException("Output is shorter than input.", nameof(output));
        }

        var s = _s;
        byte i = _i, j = _j;
        for (int n = 0; n < input.Length; n++)
        {
            i++;
            j = (byte)(j + s[i]);
            (s[i], s[j]) = (s[j], s[i]);
            output[n] = (byte)(input[n] ^ s[(byte)(s[i] + s[j])]);
        }

        _i = i;
        _j = j;
    }

    /// <summary>One-shot RC4 of <paramref name="input"/> with a fresh key schedule.</summary>
    public static byte[] Apply(ReadOnlySpan<byte> key, ReadOnlySpan<byte> input)
    {
        var output = new byte[input.Length];
        new Rc4(key).Transform(input, output);
        return output;
    }
}
