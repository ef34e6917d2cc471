using System.Buffers;
using System.Security.Cryptography;

namespace CaStorage.Smb.Security;

/// <summary>
/// AES-128-CMAC (RFC 4493), the SMB 3.0/3.0.2/3.1.1 signing algorithm (MS-SMB2 3.1.4.1).
/// An instance holds the AES key schedule and the two subkeys, so a session signs every
/// message without re-deriving them. The CBC-MAC of all blocks but the last is computed
/// with <see cref="SymmetricAlgorithm.EncryptCbc(ReadOnlySpan{byte}, ReadOnlySpan{byte}, Span{byte}, PaddingMode)"/>
/// over large chunks (zero IV, chained), not one ECB call per block.
/// Instances are not thread-safe: use one per session/connection or lock.
/// </summary>
internal sealed class AesCmac : IDisposable
{
    public const int KeySize = 16;
    public const int MacSize = 16;
    private const int BlockSize = 16;
    private const int ChunkSize = 64 * 1024;

    private readonly Aes _aes;
    private readonly byte[] _k1 = new byte[BlockSize];
    private readonly byte[] _k2 = new byte[BlockSize];

    public AesCmac(ReadOnlySpan<byte> key16)
    {
        if (key16.Length != KeySize)
        {
            throw new ArgumentException("AES-CMAC key must be 16 bytes.", nameof(key16));
        }

        _aes = Aes.Create();
        _aes.Key = key16.ToArray();

        // RFC 4493 2.3 Generate_Subkey: L = AES(K, 0); K1 = L << 1 (^ Rb); K2 = K1 << 1 (^ Rb).
        Span<byte> l = stackalloc byte[BlockSize];
        l.Clear();
        _aes.EncryptEcb(l, l, PaddingMode.None);
        DoubleInGf128(l, _k1);
        DoubleInGf128(_k1, _k2);
        CryptographicOperations.ZeroMemory(l);
    }

    /// <summary>One-shot AES-CMAC with a throwaway key schedule.</summary>
    public static void Compute(ReadOnlySpan<byte> key16, ReadOnlySpan<byte> data, Span<byte> mac16)
    {
        using var cmac = new AesCmac(key16);
        cmac.Compute(data, mac16);
    }

    public void Compute(ReadOnlySpan<byte> data, Span<byte> mac16) => ComputeJoined([], data, mac16);

    /// <summary>
    /// CMAC of the concatenation <paramref name="head"/> || <paramref name="tail"/>, so a caller can
    /// substitute a modified copy of a message header without copying the body.
    /// <paramref name="head"/>'s length must be a multiple of 16.
    /// </summary>
    public void ComputeJoined(ReadOnlySpan<byte> head, ReadOnlySpan<byte> tail, Span<byte> mac16)
    {
        if (mac16.Length < MacSize)
        {
            throw new ArgumentException("MAC destination must hold 16 bytes.", nameof(mac16));
        }

        if (head.Length % BlockSize != 0)
        {
            throw new ArgumentException("Head length must be a multiple of the block size.", nameof(head));
        }

        int total = checked(head.Length + tail.Length);

        // RFC 4493 2.4: n = ceil(len/16), at least 1. The last block is XORed with K1 when it
        // is complete, otherwise padded with 10* and XORed with K2. All other blocks feed CBC.
        int lastBlockStart = total == 0 ? 0 : (total - 1) / BlockSize * BlockSize;
        Span<byte> chain = stackalloc byte[BlockSize];
        chain.Clear();

        int headPrefix = Math.Min(head.Length, lastBlockStart);
        CbcMac(head[..headPrefix], chain);
        int tailPrefix = lastBlockStart - headPrefix;
        CbcMac(tail[..tailPrefix], chain);

        Span<byte> last = stackalloc byte[BlockSize];
        last.Clear();
        int lastLength = total - lastBlockStart;
        if (lastBlockStart < head.Length)
        {
            // Only possible when tail is empty: head holds the last block.
            head[lastBlockStart..].CopyTo(last);
        }
        else
        {
            tail[tailPrefix..].CopyTo(last);
        }

        ReadOnlySpan<byte> subkey;
        if (lastLength == BlockSize)
        {
            subkey = _k1;
        }
        else
        {
            last[lastLength] = 0x80;
            subkey = _k2;
        }

        for (int i = 0; i < BlockSize; i++)
        {
            last[i] ^= (byte)(subkey[i] ^ chain[i]);
        }

        _aes.EncryptEcb(last, mac16[..MacSize], PaddingMode.None);
    }

    public void Dispose() => _aes.Dispose();

    /// <summary>Runs CBC over whole blocks of <paramref name="data"/>, chaining from and into <paramref name="chain"/>.</summary>
    private void CbcMac(ReadOnlySpan<byte> data, Span<byte> chain)
    {
        if (data.IsEmpty)
        {
            return;
        }

        if (data.Length <= BlockSize * 4)
        {
            Span<byte> small = stackalloc byte[BlockSize * 4];
            var output = small[..data.Length];
            _aes.EncryptCbc(data, chain, output, PaddingMode.None);
            output[^BlockSize..].CopyTo(chain);
            return;
        }

        byte[] buffer = ArrayPool<byte>.Shared.Rent(Math.Min(ChunkSize, data.Length));
        try
        {
            while (!data.IsEmpty)
            {
                int n = Math.Min(ChunkSize, data.Length);
                var output = buffer.AsSpan(0, n);
                _aes.EncryptCbc(data[..n], chain, output, PaddingMode.None);
                output[^BlockSize..].CopyTo(chain);
                data = data[n..];
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static void DoubleInGf128(ReadOnlySpan<byte> input, Span<byte> output)
    {
        byte carry = 0;
        for (int i = BlockSize - 1; i >= 0; i--)
        {
            byte b = input[i];
            output[i] = (byte)((b << 1) | carry);
            carry = (byte)(b >> 7);
        }

        if (carry != 0)
        {
            output[BlockSize - 1] ^= 0x87;
        }
    }
}
