using System.Formats.Asn1;
using CaStorage.Smb.Security;

namespace CaStorage.Smb.Tests.Security;

/// <summary>Builds initiator SPNEGO tokens around a <see cref="TestNtlmClient"/>, encoding DER by hand with AsnWriter.</summary>
internal sealed class TestSpnegoClient
{
    private static readonly Asn1Tag App0 = new(TagClass.Application, 0, isConstructed: true);

    public TestSpnegoClient(TestNtlmClient ntlm, params string[] mechTypes)
    {
        Ntlm = ntlm;
        MechTypes = mechTypes.Length == 0 ? [Spnego.NtlmSspOid] : mechTypes;
    }

    public TestNtlmClient Ntlm { get; }
    public string[] MechTypes { get; }

    public byte[] MechTypesDer
    {
        get
        {
            var w = new AsnWriter(AsnEncodingRules.DER);
            using (w.PushSequence())
            {
                foreach (var oid in MechTypes)
                {
                    w.WriteObjectIdentifier(oid);
                }
            }

            return w.Encode();
        }
    }

    /// <summary>GSS InitialContextToken with NegTokenInit; <paramref name="mechToken"/> is the optimistic token (if any).</summary>
    public byte[] InitToken(byte[]? mechToken)
    {
        var w = new AsnWriter(AsnEncodingRules.DER);
        using (w.PushSequence(App0))
        {
            w.WriteObjectIdentifier(Spnego.SpnegoOid);
            using (w.PushSequence(Ctx(0)))
            using (w.PushSequence())
            {
                using (w.PushSequence(Ctx(0)))
                {
                    w.WriteEncodedValue(MechTypesDer);
                }

                if (mechToken is not null)
                {
                    using (w.PushSequence(Ctx(2)))
                    {
                        w.WriteOctetString(mechToken);
                    }
                }
            }
        }

        return w.Encode();
    }

    /// <summary>NegTokenResp from the initiator (no negState, as Windows sends).</summary>
    public static byte[] RespToken(byte[]? responseToken, byte[]? mechListMic, int? negState = null)
    {
        var w = new AsnWriter(AsnEncodingRules.DER);
        using (w.PushSequence(Ctx(1)))
        using (w.PushSequence())
        {
            if (negState is { } state)
            {
                using (w.PushSequence(Ctx(0)))
                {
                    w.WriteEnumeratedValue((SpnegoNegState)state);
                }
            }

            if (responseToken is not null)
            {
                using (w.PushSequence(Ctx(2)))
                {
                    w.WriteOctetString(responseToken);
                }
            }

            if (mechListMic is not null)
            {
                using (w.PushSequence(Ctx(3)))
                {
                    w.WriteOctetString(mechListMic);
                }
            }
        }

        return w.Encode();
    }

    /// <summary>Decodes a server NegTokenResp with AsnReader.</summary>
    public static (int? NegState, string? SupportedMech, byte[]? ResponseToken, byte[]? MechListMic) ParseResp(byte[] token)
    {
        var reader = new AsnReader(token, AsnEncodingRules.DER);
        var outer = reader.ReadSequence(Ctx(1));
        reader.ThrowIfNotEmpty();
        var seq = outer.ReadSequence();
        outer.ThrowIfNotEmpty();
        int? negState = null;
        string? mech = null;
        byte[]? response = null, mic = null;
        int lastTag = -1;
        while (seq.HasData)
        {
            var tag = seq.PeekTag();
            Assert.Equal(TagClass.ContextSpecific, tag.TagClass);
            Assert.True(tag.TagValue > lastTag, "fields out of order");
            lastTag = tag.TagValue;
            var field = seq.ReadSequence(tag);
            switch (tag.TagValue)
            {
                case 0: negState = field.ReadEnumeratedBytes().Span[0]; break;
                case 1: mech = field.ReadObjectIdentifier(); break;
                case 2: response = field.ReadOctetString(); break;
                case 3: mic = field.ReadOctetString(); break;
                default: Assert.Fail($"unexpected field [{tag.TagValue}]"); break;
            }

            field.ThrowIfNotEmpty();
        }

        return (negState, mech, response, mic);
    }

    private static Asn1Tag Ctx(int n) => new(TagClass.ContextSpecific, n, isConstructed: true);
}
