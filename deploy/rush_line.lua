-- The proxy's line for a seminar's bookings (deploy/nginx.conf.template): when the rush processes are full,
-- the students nginx turns away keep their place, and are let through in the order they arrived.
--
-- Per company (host) and seminar, in a dictionary shared by nginx's workers: `t` the last place handed out,
-- `h` the line's head (places at or below it may go on to the rush processes), `i` its bookings with the
-- rush processes now, how many finished each second (the line's pace, for "ask again in"), and each
-- pass's place (`p:<md5 of the pass>`).
-- A place is a cookie (rush_line=<seminar>.<place>.<mac>) whose HMAC binds it to the company, the seminar
-- and the student's own rush pass, under a key derived from SECRET_KEY (RUSH_LINE_KEY in nginx's
-- environment): it cannot be made up, moved to another seminar or handed to a friend.
--
-- enter()   rewrite phase, every POST /my/rush/<seminar>/book: nobody waiting -> on to the budgets; a
--           newcomer while others wait -> a place at the end; a place not reached yet -> where it stands.
-- refused() the budgets' own answer (@rush_busy): a booking turned away takes (or keeps) its place;
--           anything else hears the rush path's "busy".
-- done()    log phase of a booking the rush processes answered: the head moves AHEAD places on.
local M = {}

local line = ngx.shared.rush_line
local KEEP = 6 * 3600
local KEY = os.getenv("RUSH_LINE_KEY") or ""
-- Places let through per finished booking: those let through come back after their Retry-After, so the head
-- runs a little ahead of the processes or they would idle meanwhile; a place let through that finds the
-- budgets full hears "next" and asks again in a second, still ahead of everyone behind it.
local AHEAD = 2

local function seminar_of(uri)
    return uri:match("^/my/rush/(%d+)/book$")
end

local function mac(host, seminar, place)
    local digest = ngx.hmac_sha1(KEY, host .. "|" .. seminar .. "|" .. place .. "|" .. (ngx.var.cookie_rush_pass or ""))
    return (ngx.encode_base64(digest):gsub("[+/=]", { ["+"] = "-", ["/"] = "_", ["="] = "" }))
end

-- The place this request holds in this seminar's line, if its cookie is genuine and of the current line.
local function place_of(host, seminar, tail)
    local cookie = ngx.var.cookie_rush_line
    if KEY == "" or not cookie then
        return nil
    end
    local of, place, given = cookie:match("^(%d+)%.(%d+)%.([%w_-]+)$")
    if of ~= seminar then
        return nil
    end
    place = tonumber(place)
    -- Compared as HMACs of both sides, so how long the comparison takes says nothing about the right one.
    if place == nil or place < 1 or place > tail
        or ngx.hmac_sha1(KEY, given) ~= ngx.hmac_sha1(KEY, mac(host, seminar, place)) then
        return nil
    end
    return place
end

local function json_text(text)
    return '"' .. text:gsub('[%c"\\]', function(c)
        return string.format("\\u%04x", c:byte())
    end) .. '"'
end

-- Finished bookings a second over the last two seconds (at least 1).
local function pace(name)
    local now = math.floor(ngx.now())
    local count = (line:get(name .. ":n" .. (now - 1)) or 0) + (line:get(name .. ":n" .. (now - 2)) or 0)
    return math.max(count / 2, 1)
end

-- The proxy's own JSON answers (the line's and the rush path's "busy"), never kept by a browser.
local function reply(status, retry, body)
    ngx.status = status
    ngx.header["Content-Type"] = "application/json; charset=utf-8"
    ngx.header["Cache-Control"] = "no-store"
    ngx.header["Retry-After"] = retry
    ngx.print(body)
    return ngx.exit(ngx.HTTP_OK)
end

-- Where `place` stands; the cookie is signed and set only when the request did not bring it already.
local function answer(request, place, head, brought)
    local position = math.max(place - head, 1) -- 1: next (or let through, once the budgets have room)
    local wait = (position - 1) / pace(request.name)
    if not brought then
        ngx.header["Set-Cookie"] = "rush_line=" .. request.seminar .. "." .. place .. "."
            .. mac(request.host, request.seminar, place) .. "; Path=/my/rush/; Max-Age=3600; HttpOnly; SameSite=Strict"
    end
    return reply(202, tostring(math.max(1, math.min(10, math.ceil(wait)))), table.concat({
        '{"ok": false, "code": "line", "message": ', json_text(ngx.var.rush_line_message), ', "ticket": ', place,
        ', "position": ', position, ', "eta_s": ', string.format("%.1f", wait), "}" }))
end

-- The booking's seminar, company (host) and line name; nil for anything else, or without a pass (no place:
-- the rush process answers "signed out").
local function booking_of()
    local seminar = ngx.req.get_method() == "POST" and seminar_of(ngx.var.uri)
    if not seminar or not ngx.var.cookie_rush_pass then
        return nil
    end
    local host = ngx.var.host
    return { seminar = seminar, host = host, name = host .. "|" .. seminar }
end

-- A place at the end of the line, one per rush pass: a student who lost the cookie (or a client that never
-- keeps one) asking again gets the same place, not another.
local function join(name)
    local holder = name .. ":p:" .. ngx.md5(ngx.var.cookie_rush_pass)
    local place = line:get(holder)
    if place then
        return place
    end
    place = line:incr(name .. ":t", 1, 0, KEEP)
    line:set(holder, place, KEEP)
    return place
end

-- On to the budgets and the rush processes, counted as this line's until its answer (or the budgets' refusal).
local function pass(name)
    line:incr(name .. ":i", 1, 0, KEEP)
    ngx.var.rush_line_counted = name
end

function M.enter()
    local request = booking_of()
    if request == nil then
        return
    end
    local name = request.name
    local tail = line:get(name .. ":t") or 0
    local head = line:get(name .. ":h") or 0
    local place = place_of(request.host, request.seminar, tail)
    if place == nil then
        if tail <= head then
            return pass(name) -- nobody waiting: on to the budgets
        end
        return answer(request, join(name), head, false)
    end
    if place <= head then
        return pass(name) -- its turn: on to the budgets
    end
    -- Nothing of this line with the rush processes (those let through have not come back, or never will):
    -- the line moves on by one place for each student asking meanwhile.
    if (line:get(name .. ":i") or 0) <= 0 then
        head = line:incr(name .. ":h", 1, 0, KEEP)
        if place <= head then
            return pass(name)
        end
    end
    return answer(request, place, head, true)
end

function M.refused()
    local request = booking_of()
    if request == nil then
        return reply(503, ngx.var.rush_busy_retry, ngx.var.rush_busy_body)
    end
    local name = request.name
    if ngx.var.rush_line_counted == name then
        line:incr(name .. ":i", -1, 0, KEEP) -- let through above, turned away by the budgets
    end
    local place = place_of(request.host, request.seminar, line:get(name .. ":t") or 0)
    local head = line:get(name .. ":h") or 0
    if place == nil then
        return answer(request, join(name), head, false)
    end
    return answer(request, place, head, true)
end

function M.done()
    local name = ngx.var.rush_line_counted
    if name == nil or name == "" then
        return
    end
    line:incr(name .. ":i", -1, 0, KEEP)
    line:incr(name .. ":n" .. math.floor(ngx.now()), 1, 0, 5)
    local tail = line:get(name .. ":t") or 0
    local head = line:get(name .. ":h") or 0
    if head < tail then
        line:incr(name .. ":h", math.min(AHEAD, tail - head), 0, KEEP)
    end
end

return M
