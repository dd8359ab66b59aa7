namespace JobTrail.Modules.Access;

/// <summary>
/// Actor ids of the kind <c>system</c> (<c>system:bootstrap</c>) name the service itself; no key an
/// admin creates may carry one, or what it does would be attributed to the system.
/// </summary>
internal static class ReservedActors
{
    public const string SystemPrefix = "system:";

    /// <summary>
    /// True for <c>system:…</c> in any case, also behind leading white space or spelled in full-width
    /// forms (<c>ｓｙｓｔｅｍ：</c>). Other lookalikes (Cyrillic, Greek) are not ASCII, which the actor id
    /// format refuses anyway.
    /// </summary>
    public static bool IsReserved(string? actorId)
    {
        if (actorId is null)
        {
            return false;
        }

        var text = actorId.AsSpan().TrimStart();
        if (text.Length < SystemPrefix.Length)
        {
            return false;
        }

        for (var i = 0; i < SystemPrefix.Length; i++)
        {
            if (char.ToLowerInvariant(FoldFullWidth(text[i])) != SystemPrefix[i])
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>U+FF01..U+FF5E are full-width copies of ASCII '!'..'~'.</summary>
    private static char FoldFullWidth(char c) => c is >= '\uFF01' and <= '\uFF5E' ? (char)(c - 0xFEE0) : c;
}
