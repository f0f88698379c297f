"""Storefront forms: labels are the words a shopper reads."""
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length

EMAIL = [DataRequired("Enter your e-mail address."), Email("Enter a valid e-mail address."),
         Length(max=254)]
NEW_PASSWORD = [DataRequired("Choose a password."),
                Length(min=8, max=200, message="Use at least 8 characters.")]


class SignInForm(FlaskForm):
    email = EmailField("Email", validators=EMAIL)
    password = PasswordField("Password", validators=[DataRequired("Enter your password.")])


class RegisterForm(FlaskForm):
    full_name = StringField("Full name", validators=[DataRequired("Enter your name."),
                                                     Length(max=200)])
    email = EmailField("Email", validators=EMAIL)
    password = PasswordField("Password", validators=NEW_PASSWORD)


class ForgotPasswordForm(FlaskForm):
    email = EmailField("Email", validators=EMAIL)


class ResetPasswordForm(FlaskForm):
    password = PasswordField("New password", validators=NEW_PASSWORD)
    confirm = PasswordField("Repeat new password",
                            validators=[DataRequired("Repeat the new password."),
                                        EqualTo("password", "The two passwords differ.")])
