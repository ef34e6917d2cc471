using System.Formats.Asn1;
using System.Text;

namespace CaStorage.Smb.Security;

/// <summary>SPNEGO negState (RFC 4178 4.2.2).</summary>
internal enum SpnegoNegState
{
    AcceptCompleted = 0,
    AcceptIncomplete = 1,
    Reject = 2,
    RequestMic = 3,
}

/// <summary>
/// SPNEGO (RFC 4178, MS-SPNG) token codecs. All tags in the SPNEGO module are EXPLICIT context tags:
/// <code>
/// InitialContextToken ::= [APPLICATION 0] IMPLICIT SEQUENCE { thisMech OID (1.3.6.1.5.5.2), innerToken NegotiationToken }
/// NegotiationToken ::= CHOICE { negTokenInit [0] NegTokenInit, negTokenResp [1] NegTokenResp }
/// NegTokenInit  ::= SEQUENCE { mechTypes [0] MechTypeList, reqFlags [1] ContextFlags OPTIONAL,
///                              mechToken [2] OCTET STRING OPTIONAL, mechListMIC [3] OCTET STRING OPTIONAL, ... }
/// NegTokenInit2 ::= SEQUENCE { mechTypes [0], reqFlags [1], mechToken [2], negHints [3] NegHints, mechListMIC [4], ... }  (MS-SPNG 2.2.1)
/// NegTokenResp  ::= SEQUENCE { negState [0] ENUMERATED OPTIONAL, supportedMech [1] MechType OPTIONAL,
///                              responseToken [2] OCTET STRING OPTIONAL, mechListMIC [3] OCTET STRING OPTIONAL, ... }
/// </code>
/// </summary>
internal static class Spnego
{
    public const string SpnegoOid = "1.3.6.1.5.5.2";
    public const string NtlmSspOid = "1.3.6.1.4.1.311.2.2.10";
    public const string KerberosOid = "1.2.840.113554.1.2.2";
    public const string MsKerberosOid = "1.2.840.48018.1.2.2";
    public const string NegoExOid = "1.3.6.1.4.1.311.2.2.30";

    /// <summary>MS-SPNG 2.2.1 negHints.hintName, which SMB servers send in place of a principal name.</summary>
    public const string IgnoreHintName = "not_defined_in_RFC4178@please_ignore";

    /// <summary>Upper bound on a security token we parse (as Samba: 64 KiB).</summary>
    public const int MaxTokenSize = 0xFFFF;

    internal static readonly Asn1Tag ApplicationZero = new(TagClass.Application, 0, isConstructed: true);

    internal static Asn1Tag Context(int n) => new(TagClass.ContextSpecific, n, isConstructed: true);

    /// <summary>
    /// The SMB2 NEGOTIATE response security buffer (MS-SMB2 3.3.5.3.1 via MS-SPNG 3.2.5.2):
    /// an InitialContextToken carrying NegTokenInit2 that offers NTLMSSP only, with the
    /// "please ignore" hint name.
    /// </summary>
    public static byte[] BuildNegotiateResponseToken()
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence(ApplicationZero))
        {
            writer.WriteObjectIdentifier(SpnegoOid);
            using (writer.PushSequence(Context(0)))
            using (writer.PushSequence())
            {
                using (writer.PushSequence(Context(0)))
                {
                    WriteMechTypeList(writer, [NtlmSspOid]);
                }

                using (writer.PushSequence(Context(3)))
                using (writer.PushSequence())
                using (writer.PushSequence(Context(0)))
                {
                    // GeneralString (universal 27) has no AsnWriter helper: write the TLV directly.
                    writer.WriteEncodedValue(EncodeGeneralString(IgnoreHintName));
                }
            }
        }

        return writer.Encode();
    }

    /// <summary>DER of a MechTypeList (SEQUENCE OF OID): the input to mechListMIC (RFC 4178 5).</summary>
    public static byte[] EncodeMechTypeList(IReadOnlyList<string> mechTypes)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        WriteMechTypeList(writer, mechTypes);
        return writer.Encode();
    }

    /// <summary>Encodes a NegTokenResp wrapped in its [1] choice tag, as sent after the first round.</summary>
    public static byte[] BuildNegTokenResp(SpnegoNegState? negState, string? supportedMech, ReadOnlySpan<byte> responseToken, ReadOnlySpan<byte> mechListMic)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence(Context(1)))
        using (writer.PushSequence())
        {
            if (negState is { } state)
            {
                using (writer.PushSequence(Context(0)))
                {
                    writer.WriteEnumeratedValue(state);
                }
            }

            if (supportedMech is not null)
            {
                using (writer.PushSequence(Context(1)))
                {
                    writer.WriteObjectIdentifier(supportedMech);
                }
            }

            if (!responseToken.IsEmpty)
            {
                using (writer.PushSequence(Context(2)))
                {
                    writer.WriteOctetString(responseToken);
                }
            }

            if (!mechListMic.IsEmpty)
            {
                using (writer.PushSequence(Context(3)))
                {
                    writer.WriteOctetString(mechListMic);
                }
            }
        }

        return writer.Encode();
    }

    /// <summary>
    /// Parses an initiator token: an InitialContextToken (0x60) or a bare NegotiationToken
    /// ([0] NegTokenInit or [1] NegTokenResp). False on anything malformed; never throws.
    /// </summary>
    public static bool TryParse(ReadOnlyMemory<byte> input, out SpnegoToken token)
    {
        token = default!;
        if (input.IsEmpty || input.Length > MaxTokenSize)
        {
            return false;
        }

        try
        {
            var outer = new AsnReader(input, AsnEncodingRules.BER);
            ReadOnlyMemory<byte> negotiationToken;
            if (outer.PeekTag().HasSameClassAndValue(ApplicationZero))
            {
                var app = outer.ReadSequence(ApplicationZero);
                outer.ThrowIfNotEmpty();
                if (app.ReadObjectIdentifier() != SpnegoOid)
                {
                    return false;
                }

                negotiationToken = app.ReadEncodedValue();
                app.ThrowIfNotEmpty();
            }
            else
            {
                negotiationToken = outer.ReadEncodedValue();
                outer.ThrowIfNotEmpty();
            }

            var choice = new AsnReader(negotiationToken, AsnEncodingRules.BER);
            var tag = choice.PeekTag();
            if (tag.HasSameClassAndValue(Context(0)))
            {
                return TryParseInit(choice.ReadSequence(Context(0)), out token);
            }

            if (tag.HasSameClassAndValue(Context(1)))
            {
                return TryParseResp(choice.ReadSequence(Context(1)), out token);
            }

            return false;
        }
        catch (AsnContentException)
        {
            return false;
        }
        catch (ArgumentException)
        {
            // AsnReader reports some malformed encodings (e.g. bad OID arcs) as ArgumentException subtypes.
            return false;
        }
    }

    private static bool TryParseInit(AsnReader wrapper, out SpnegoToken token)
    {
        token = default!;
        var seq = wrapper.ReadSequence();
        wrapper.ThrowIfNotEmpty();

        List<string>? mechTypes = null;
        byte[]? mechToken = null;
        byte[]? mechListMic = null;
        while (seq.HasData)
        {
            var tag = seq.PeekTag();
            if (tag.HasSameClassAndValue(Context(0)))
            {
                var field = seq.ReadSequence(Context(0));
                var list = field.ReadSequence();
                field.ThrowIfNotEmpty();
                mechTypes = [];
                while (list.HasData)
                {
                    mechTypes.Add(list.ReadObjectIdentifier());
                }
            }
            else if (tag.HasSameClassAndValue(Context(2)))
            {
                var field = seq.ReadSequence(Context(2));
                mechToken = field.ReadOctetString();
                field.ThrowIfNotEmpty();
            }
            else if (tag.HasSameClassAndValue(Context(3)) || tag.HasSameClassAndValue(Context(4)))
            {
                // [3] is mechListMIC in NegTokenInit but negHints in NegTokenInit2; [4] is NegTokenInit2's mechListMIC.
                var field = seq.ReadSequence(tag);
                if (field.PeekTag().HasSameClassAndValue(Asn1Tag.PrimitiveOctetString))
                {
                    mechListMic = field.ReadOctetString();
                }
                else
                {
                    field.ReadEncodedValue();
                }

                field.ThrowIfNotEmpty();
            }
            else
            {
                // reqFlags [1] and extensions: ignored.
                seq.ReadEncodedValue();
            }
        }

        if (mechTypes is null)
        {
            return false;
        }

        // Re-encoded here, inside the caller's exception guard, for the mechListMIC.
        token = new SpnegoToken(IsInit: true, mechTypes, mechToken, null, null, mechListMic) { MechTypesDer = EncodeMechTypeList(mechTypes) };
        return true;
    }

    private static bool TryParseResp(AsnReader wrapper, out SpnegoToken token)
    {
        token = default!;
        var seq = wrapper.ReadSequence();
        wrapper.ThrowIfNotEmpty();

        SpnegoNegState? negState = null;
        string? supportedMech = null;
        byte[]? responseToken = null;
        byte[]? mechListMic = null;
        while (seq.HasData)
        {
            var tag = seq.PeekTag();
            if (tag.HasSameClassAndValue(Context(0)))
            {
                var field = seq.ReadSequence(Context(0));
                var value = field.ReadEnumeratedBytes().Span;
                field.ThrowIfNotEmpty();
                if (value.Length != 1 || value[0] > (byte)SpnegoNegState.RequestMic)
                {
                    return false;
                }

                negState = (SpnegoNegState)value[0];
            }
            else if (tag.HasSameClassAndValue(Context(1)))
            {
                var field = seq.ReadSequence(Context(1));
                supportedMech = field.ReadObjectIdentifier();
                field.ThrowIfNotEmpty();
            }
            else if (tag.HasSameClassAndValue(Context(2)))
            {
                var field = seq.ReadSequence(Context(2));
                responseToken = field.ReadOctetString();
                field.ThrowIfNotEmpty();
            }
            else if (tag.HasSameClassAndValue(Context(3)))
            {
                var field = seq.ReadSequence(Context(3));
                mechListMic = field.ReadOctetString();
                field.ThrowIfNotEmpty();
            }
            else
            {
                seq.ReadEncodedValue();
            }
        }

        token = new SpnegoToken(IsInit: false, null, null, negState, supportedMech, mechListMic) { ResponseToken = responseToken };
        return true;
    }

    private static void WriteMechTypeList(AsnWriter writer, IReadOnlyList<string> mechTypes)
    {
        using (writer.PushSequence())
        {
            foreach (var oid in mechTypes)
            {
                writer.WriteObjectIdentifier(oid);
            }
        }
    }

    private static byte[] EncodeGeneralString(string value)
    {
        var bytes = Encoding.ASCII.GetBytes(value);
        var writer = new AsnWriter(AsnEncodingRules.DER);
        writer.WriteOctetString(bytes, new Asn1Tag(TagClass.ContextSpecific, 27));
        var encoded = writer.Encode();
        encoded[0] = 0x1B; // universal, primitive, tag 27 (GeneralString)
        return encoded;
    }
}

/// <summary>A parsed initiator token: NegTokenInit (mechTypes, mechToken) or NegTokenResp (negState, responseToken).</summary>
internal sealed record SpnegoToken(
    bool IsInit,
    IReadOnlyList<string>? MechTypes,
    byte[]? MechToken,
    SpnegoNegState? NegState,
    string? SupportedMech,
    byte[]? MechListMic)
{
    public byte[]? ResponseToken { get; init; }

    /// <summary>DER encoding of <see cref="MechTypes"/> (NegTokenInit only): what mechListMIC covers.</summary>
    public byte[]? MechTypesDer { get; init; }
}
