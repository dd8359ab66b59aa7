using System.Collections.Frozen;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace JobTrail.Modules.Activity.Domain;

/// <summary>
/// Replaces every metadata value whose key looks secret by <c>"[REDACTED]"</c>, at any depth,
/// inside arrays too, before anything is stored.
/// </summary>
/// <remarks>
/// The rule (docs/activity.md says the same): a key is split into lower-case words at
/// <c>_ - . space</c> and camelCase humps (<c>X-Api-Key</c>, <c>api_key</c>, <c>APIKey</c> all give
/// <c>api key</c>). It is secret when
/// <list type="number">
/// <item>a word is one of <see cref="SecretWords"/> (password, secret, token, cookie, credential, …), or</item>
/// <item>two adjacent words form one of <see cref="SecretPairs"/> (api key, private key, access key, session id, …), or</item>
/// <item>its letters run together contain one of <see cref="SecretFragments"/> (<c>userpassword</c>, <c>xapikey</c>).</item>
/// </list>
/// One exception keeps token usage readable: when the only secret word is <c>token</c>/<c>tokens</c>
/// and the key also has a counting word (<c>tokensInput</c>, <c>prompt_tokens</c>, <c>maxTokens</c>,
/// <c>token_count</c>), a number (or null) is kept; any other value there is still redacted.
/// Independently of keys, JobTrail API keys and <c>Bearer …</c> credentials inside any string are
/// replaced.
/// </remarks>
internal static partial class MetadataRedactor
{
    public const string Redacted = "[REDACTED]";

    internal static readonly FrozenSet<string> SecretWords = FrozenSet.ToFrozenSet(
    [
        "password", "passwd", "pwd", "passphrase", "passcode", "secret", "secrets",
        "token", "tokens", "credential", "credentials", "creds", "authorization",
        "cookie", "cookies", "apikey", "apikeys", "privatekey", "accesskey", "secretkey",
        "sessionid", "bearer", "jwt", "otp",
    ], StringComparer.Ordinal);

    internal static readonly FrozenSet<(string, string)> SecretPairs = new[]
    {
        ("api", "key"), ("private", "key"), ("access", "key"), ("secret", "key"), ("signing", "key"),
        ("encryption", "key"), ("session", "id"), ("session", "key"), ("auth", "key"), ("set", "cookie"),
    }.ToFrozenSet();

    internal static readonly string[] SecretFragments =
        ["password", "passwd", "passphrase", "secret", "apikey", "privatekey", "accesskey", "credential", "authorization", "cookie"];

    internal static readonly FrozenSet<string> CountingWords = FrozenSet.ToFrozenSet(
    [
        "count", "counts", "input", "inputs", "output", "outputs", "used", "usage", "total", "limit",
        "max", "min", "prompt", "completion", "remaining", "cached", "reasoning", "estimated", "budget",
    ], StringComparer.Ordinal);

    internal enum KeyKind
    {
        Plain,
        Secret,

        /// <summary>A number of tokens (<c>tokensInput</c>): kept when the value is a number.</summary>
        TokenCount,
    }

    /// <summary>Redacts <paramref name="metadata"/> in place and returns it.</summary>
    public static JsonObject Redact(JsonObject metadata)
    {
        RedactObject(metadata);
        return metadata;
    }

    public static bool IsSecretKey(string key) => Classify(key) == KeyKind.Secret;

    internal static KeyKind Classify(string key)
    {
        var words = SplitWords(key);
        var tokenish = false;
        for (var i = 0; i < words.Count; i++)
        {
            if (words[i] is "token" or "tokens")
            {
                tokenish = true;
            }
            else if (SecretWords.Contains(words[i]))
            {
                return KeyKind.Secret;
            }

            if (i > 0 && SecretPairs.Contains((words[i - 1], words[i])))
            {
                return KeyKind.Secret;
            }
        }

        var joined = string.Concat(words);
        if (SecretFragments.Any(f => joined.Contains(f, StringComparison.Ordinal)))
        {
            return KeyKind.Secret;
        }

        if (tokenish)
        {
            return words.Any(CountingWords.Contains) ? KeyKind.TokenCount : KeyKind.Secret;
        }

        return KeyKind.Plain;
    }

    /// <summary><c>X-Api-Key</c> → [x, api, key]; <c>APIKey</c> → [api, key]; <c>tokensInput</c> → [tokens, input].</summary>
    internal static List<string> SplitWords(string key)
    {
        var words = new List<string>();
        var current = new StringBuilder();
        for (var i = 0; i < key.Length; i++)
        {
            var c = key[i];
            if (!char.IsLetterOrDigit(c))
            {
                Flush();
                continue;
            }

            if (char.IsUpper(c) && current.Length > 0)
            {
                var previous = key[i - 1];
                var next = i + 1 < key.Length ? key[i + 1] : '\0';
                if (char.IsLower(previous) || char.IsDigit(previous) || (char.IsUpper(previous) && char.IsLower(next)))
                {
                    Flush();
                }
            }

            current.Append(char.ToLowerInvariant(c));
        }

        Flush();
        return words;

        void Flush()
        {
            if (current.Length > 0)
            {
                words.Add(current.ToString());
                current.Clear();
            }
        }
    }

    private static void RedactObject(JsonObject obj)
    {
        foreach (var (key, value) in obj.ToList())
        {
            switch (Classify(key))
            {
                case KeyKind.Secret:
                    obj[key] = Redacted;
                    break;
                case KeyKind.TokenCount when value is null || value.GetValueKind() == JsonValueKind.Number:
                    break;
                case KeyKind.TokenCount:
                    obj[key] = Redacted;
                    break;
                default:
                    var cleaned = Clean(value);
                    if (!ReferenceEquals(cleaned, value))
                    {
                        obj[key] = cleaned;
                    }

                    break;
            }
        }
    }

    /// <summary>Answers the node itself (redacted inside) or, for a string holding a credential, a replacement.</summary>
    private static JsonNode? Clean(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject obj:
                RedactObject(obj);
                return obj;
            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    var item = array[i];
                    var cleaned = Clean(item);
                    if (!ReferenceEquals(cleaned, item))
                    {
                        array[i] = cleaned;
                    }
                }

                return array;
            case JsonValue value when value.GetValueKind() == JsonValueKind.String:
                var text = value.GetValue<string>();
                var scrubbed = EmbeddedCredential().Replace(text, m => m.Groups["scheme"].Success ? m.Groups["scheme"].Value + " " + Redacted : Redacted);
                return scrubbed == text ? value : JsonValue.Create(scrubbed);
            default:
                return node;
        }
    }

    /// <summary>A JobTrail API key (<c>jt_&lt;32 hex&gt;_&lt;secret&gt;</c>) or an HTTP <c>Bearer</c>/<c>Basic</c> credential.</summary>
    [GeneratedRegex(@"jt_[0-9A-Fa-f]{32}_[A-Za-z0-9_\-]{16,}|(?<scheme>(?i:bearer|basic))\s+[A-Za-z0-9._~+/=\-]{8,}")]
    private static partial Regex EmbeddedCredential();
}
