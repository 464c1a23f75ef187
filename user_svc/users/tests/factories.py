import factory

from users.models import Role, User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    first_name = "Ada"
    last_name = "Lovelace"
    role = Role.CUSTOMER
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")
