namespace JobTrail.Client;

/// <summary>Where the API is, the key to send, and how hard to retry.</summary>
public sealed class JobTrailClientOptions
{
    /// <summary>The API's root, e.g. <c>http://127.0.0.1:8080</c>.</summary>
    public Uri? BaseAddress { get; set; }

    /// <summary>Sent as <c>Authorization: Bearer &lt;key&gt;</c>.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Retries of one request after its first attempt (429, 503, connection failures).</summary>
    public int MaxRetryAttempts { get; set; } = 6;

    /// <summary>The first back-off; later ones grow exponentially, with jitter.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>No single wait is longer, whatever Retry-After asks for.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>One request with all its retries never takes longer (until the response headers).</summary>
    public TimeSpan TotalRequestTimeout { get; set; } = TimeSpan.FromMinutes(1);

    internal void Validate()
    {
        if (BaseAddress is null || !BaseAddress.IsAbsoluteUri)
        {
            throw new InvalidOperationException("JobTrailClientOptions.BaseAddress must be an absolute URI (e.g. http://127.0.0.1:8080).");
        }

        if (string.IsNullOrWhiteSpace(ApiKey))
        {
            throw new InvalidOperationException("JobTrailClientOptions.ApiKey is required.");
        }

        if (MaxRetryAttempts < 0)
        {
            throw new InvalidOperationException("JobTrailClientOptions.MaxRetryAttempts must not be negative.");
        }
    }
}
