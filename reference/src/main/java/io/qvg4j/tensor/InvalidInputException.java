package io.qvg4j.tensor;

/**
 * Bad input at the library's boundary: a shape, value, configuration or file that breaks a stated
 * rule. The message is one line that names what, where and which rule.
 */
public class InvalidInputException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    public InvalidInputException(String message) {
        super(message);
    }
}
