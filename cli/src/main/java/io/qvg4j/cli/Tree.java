package io.qvg4j.cli;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A nested record of named values (maps keep insertion order, lists, strings, numbers, {@link Bits}) that
 * prints as indented text or as JSON.
 */
final class Tree {
    private Tree() {}

    /** A number with the bit pattern it is stored as, e.g. {@code 0.3125 [bf16 0x3EA0]}. */
    record Bits(float value, String format, String hex) {
        static Bits bf16(float v, short bits) {
            return new Bits(v, "bf16", String.format("0x%04X", bits & 0xFFFF));
        }

        static Bits fp32(float v) {
            return new Bits(v, "fp32", String.format("0x%08X", Float.floatToRawIntBits(v)));
        }

        static Bits e4m3(float v, byte code) {
            return new Bits(v, "e4m3", String.format("0x%02X", code & 0xFF));
        }
    }

    static Map<String, Object> map() {
        return new LinkedHashMap<>();
    }

    static String text(Map<String, Object> root) {
        StringBuilder s = new StringBuilder();
        text(s, root, "");
        return s.toString();
    }

    private static void text(StringBuilder s, Map<?, ?> m, String indent) {
        for (Map.Entry<?, ?> e : m.entrySet()) {
            Object v = e.getValue();
            if (v instanceof Map<?, ?> child) {
                s.append(indent).append(e.getKey()).append(":\n");
                text(s, child, indent + "  ");
            } else if (v instanceof List<?> list && !list.isEmpty() && list.get(0) instanceof Map) {
                s.append(indent).append(e.getKey()).append(":\n");
                for (Object item : list) {
                    Map<?, ?> im = (Map<?, ?>) item;
                    if (flat(im)) {
                        s.append(indent).append("  ").append(inline(im)).append('\n');
                    } else {
                        s.append(indent).append("  -\n");
                        text(s, im, indent + "    ");
                    }
                }
            } else if (v instanceof List<?> list && list.size() > 8) {
                // Long vectors: eight values a line, the first index of each line in brackets.
                s.append(indent).append(e.getKey()).append(":\n");
                for (int i = 0; i < list.size(); i += 8) {
                    s.append(indent).append("  [").append(i).append("] ")
                            .append(scalar(list.subList(i, Math.min(list.size(), i + 8)))).append('\n');
                }
            } else {
                s.append(indent).append(e.getKey()).append(": ").append(scalar(v)).append('\n');
            }
        }
    }

    private static boolean flat(Map<?, ?> m) {
        for (Object v : m.values()) {
            if (v instanceof Map || v instanceof List) {
                return false;
            }
        }
        return true;
    }

    private static String inline(Map<?, ?> m) {
        StringBuilder s = new StringBuilder();
        for (Map.Entry<?, ?> e : m.entrySet()) {
            s.append(s.isEmpty() ? "" : ", ").append(e.getKey()).append('=').append(scalar(e.getValue()));
        }
        return s.toString();
    }

    private static String scalar(Object v) {
        if (v instanceof Bits b) {
            return b.value() + " [" + b.format() + " " + b.hex() + "]";
        }
        if (v instanceof List<?> list) {
            StringBuilder s = new StringBuilder();
            for (Object o : list) {
                s.append(s.isEmpty() ? "" : " ").append(scalar(o));
            }
            return s.toString();
        }
        return String.valueOf(v);
    }

    static String json(Object v) {
        StringBuilder s = new StringBuilder();
        json(s, v);
        return s.toString();
    }

    private static void json(StringBuilder s, Object v) {
        if (v instanceof Map<?, ?> m) {
            s.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : m.entrySet()) {
                s.append(first ? "" : ",");
                first = false;
                string(s, e.getKey().toString());
                s.append(':');
                json(s, e.getValue());
            }
            s.append('}');
        } else if (v instanceof List<?> list) {
            s.append('[');
            for (int i = 0; i < list.size(); i++) {
                s.append(i == 0 ? "" : ",");
                json(s, list.get(i));
            }
            s.append(']');
        } else if (v instanceof Bits b) {
            s.append("{\"value\":");
            number(s, b.value());
            s.append(",\"format\":\"").append(b.format()).append("\",\"bits\":\"").append(b.hex()).append("\"}");
        } else if (v instanceof Float f) {
            number(s, f);
        } else if (v instanceof Double d) {
            number(s, d);
        } else if (v instanceof Number || v instanceof Boolean) {
            s.append(v);
        } else {
            string(s, String.valueOf(v));
        }
    }

    /** Finite numbers as JSON numbers; NaN and ±Infinity, which JSON lacks, as strings. */
    private static void number(StringBuilder s, double d) {
        if (Double.isNaN(d) || Double.isInfinite(d)) {
            string(s, Double.toString(d));
        } else {
            s.append(Double.toString(d).replace("E", "e"));
        }
    }

    private static void number(StringBuilder s, float f) {
        if (Float.isNaN(f) || Float.isInfinite(f)) {
            string(s, Float.toString(f));
        } else if (f == 0 && 1 / f < 0) {
            s.append("-0.0");
        } else {
            s.append(Float.toString(f).replace("E", "e"));
        }
    }

    private static void string(StringBuilder s, String v) {
        s.append('"');
        for (char c : v.toCharArray()) {
            switch (c) {
                case '"' -> s.append("\\\"");
                case '\\' -> s.append("\\\\");
                case '\n' -> s.append("\\n");
                default -> {
                    if (c < 0x20) {
                        s.append(String.format("\\u%04x", (int) c));
                    } else {
                        s.append(c);
                    }
                }
            }
        }
        s.append('"');
    }
}
