using System.Text.Json;

namespace JobTrail.IntegrationTests.Infrastructure;

/// <summary>Short-hands for the calls most tests make.</summary>
public static class Api
{
    public static async Task<JsonElement> CreateJobAsync(this HttpClient client, string type = "ci", string? name = "build", object? metadata = null) =>
        (await client.PostJsonAsync("/api/runner-jobs", new { type, name, metadata })).EnsureStatus(201).Json;

    public static async Task<ApiResponse> SetJobStatusAsync(this HttpClient client, Guid jobId, string status, string? error = null) =>
        await client.PostJsonAsync($"/api/runner-jobs/{jobId}/status", error is null ? new { status } : new { status, error });

    public static async Task<JsonElement> CreateStepAsync(this HttpClient client, Guid jobId, string name, string phase = "EXECUTION", string type = "COMMAND") =>
        (await client.PostJsonAsync($"/api/runner-jobs/{jobId}/steps", new { name, phase, type })).EnsureStatus(201).Json;

    public static async Task<ApiResponse> SetStepStatusAsync(this HttpClient client, Guid jobId, Guid stepId, string status, string? error = null) =>
        await client.PostJsonAsync($"/api/runner-jobs/{jobId}/steps/{stepId}/status", error is null ? new { status } : new { status, error });

    public static Guid Id(this JsonElement json) => json.GetProperty("id").GetGuid();

    public static string? Str(this JsonElement json, string property) =>
        json.GetProperty(property).ValueKind == JsonValueKind.Null ? null : json.GetProperty(property).GetString();
}
