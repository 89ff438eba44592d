-- Shared by the load scripts: each thread counts answers it did not expect, and done() adds them up.
-- A script lists the per-thread counters to report in `reported`; load.py reads the lines printed.

local threads = {}
unexpected = 0
first_unexpected = ""

function setup(thread)
   thread:set("number", #threads)
   table.insert(threads, thread)
end

function record_unexpected(description)
   unexpected = unexpected + 1
   if first_unexpected == "" then
      first_unexpected = description
   end
end

function expect(status, expected, path)
   if status ~= expected then
      record_unexpected(string.format("%s answered %d, expected %d", path, status, expected))
   end
   return status == expected
end

function done(summary, latency, requests)
   for _, name in ipairs(reported) do
      local total = 0
      for _, thread in ipairs(threads) do
         total = total + thread:get(name)
      end
      io.write(string.format("%s: %d\n", name, total))
   end
   for _, thread in ipairs(threads) do
      local first = thread:get("first_unexpected")
      if first ~= "" then
         io.write("first unexpected: " .. first .. "\n")
         break
      end
   end
   io.write(string.format("duration_us: %d\n", summary.duration))
end
